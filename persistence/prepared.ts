/**
 * Statements compiled by kysely once and prepared by better-sqlite3 once per connection.
 *
 * Why: kysely 0.28's SQLite driver prepares every query it executes, and re-preparing cost half
 * the throughput on the hot path (perf-notes). So a query is written with kysely (typed against
 * Schema), compiled with named parameter placeholders, prepared once, then run synchronously with
 * new values bound by name.
 */
import type { Database, RunResult, Statement } from 'better-sqlite3';
import type { Compilable, CompiledQuery } from 'kysely';

/** A named placeholder; kysely treats it as an ordinary value and puts it in `parameters`. */
class Param {
  constructor(readonly name: string) {}
}

/** A placeholder for `name`, typed as the value it stands for. */
export function param<T>(name: string): T {
  return new Param(name) as unknown as T;
}

export interface PreparedQuery<R, A> {
  readonly sql: string;
  get(args: A): R | undefined;
  all(args: A): R[];
  run(args: A): RunResult;
}

type Binder = (args: Record<string, unknown>) => unknown[];

function binderFor(parameters: readonly unknown[]): Binder {
  const slots = parameters.map((p) => (p instanceof Param ? p.name : undefined));
  const constants = parameters.map((p) => (p instanceof Param ? undefined : p));
  if (slots.every((s) => s === undefined)) return () => constants;
  return (args) => {
    const out = new Array<unknown>(slots.length);
    for (let i = 0; i < slots.length; i++) {
      const name = slots[i];
      // better-sqlite3 refuses undefined; an absent optional value is NULL.
      out[i] = name === undefined ? constants[i] : (args[name] ?? null);
    }
    return out;
  };
}

function wrap<R, A>(stmt: Statement, bind: Binder): PreparedQuery<R, A> {
  return {
    sql: stmt.source,
    get: (args) => stmt.get(bind(args as Record<string, unknown>)) as R | undefined,
    all: (args) => stmt.all(bind(args as Record<string, unknown>)) as R[],
    run: (args) => stmt.run(bind(args as Record<string, unknown>)),
  };
}

/**
 * Prepares a query once. Either pass a compiled query (placeholders made with `param()`), or a
 * builder whose argument `$` hands out placeholders: `prepared(sqlite, ($: { id: string }) =>
 * db.selectFrom('t').selectAll().where('id', '=', $.id))` gives a query run as `.get({ id })`.
 */
export function prepared<R>(sqlite: Database, query: CompiledQuery<R>): PreparedQuery<R, Record<string, unknown>>;
export function prepared<A extends object, R>(sqlite: Database, build: ($: A) => Compilable<R>): PreparedQuery<R, A>;
export function prepared(
  sqlite: Database,
  query: CompiledQuery<unknown> | ((args: object) => Compilable<unknown>),
): PreparedQuery<unknown, object> {
  const compiled =
    typeof query === 'function'
      ? query(new Proxy({}, { get: (_target, key) => (typeof key === 'string' ? new Param(key) : undefined) })).compile()
      : query;
  return wrap(sqlite.prepare(compiled.sql), binderFor(compiled.parameters));
}

/**
 * Memoizes a set of statements per connection (keyed by the better-sqlite3 Database), so every
 * module prepares its statements once, on first use, for each open store.
 */
export function perConnection<K extends { readonly sqlite: Database }, T>(build: (store: K) => T): (store: K) => T {
  const cache = new WeakMap<Database, T>();
  return (store) => {
    let value = cache.get(store.sqlite);
    if (value === undefined) {
      value = build(store);
      cache.set(store.sqlite, value);
    }
    return value;
  };
}
