/**
 * The generic S-expression value tree.
 *
 * - numbers are JS numbers (the tree does not remember whether `1.0` or `1` was written; typed
 *   encoders pick the printed form from the field's type);
 * - strings are JS strings, symbols are `SSymbol` so that `"sma"` and `sma` stay distinct;
 * - `t`/`#t`/`true` read as `true`, `nil`/`#f`/`false` as `false`; `()` is the empty array;
 * - a proper list is an array; a list ending in a dotted tail is an `SDotted`.
 *
 * Lists are normalised the way a Lisp reader does: `(a . (b c))` is the list `(a b c)`, so
 * `(strategy . ((name . "X")))` and `(strategy (name . "X"))` build the same tree.
 */
import { quoteText } from './quote.ts';
export type SExpr = number | string | boolean | SSymbol | SExpr[] | SDotted;

export class SSymbol {
  constructor(readonly name: string) {}
}

/** An improper list `(items... . tail)`; `items` is non-empty and `tail` is never a list. */
export class SDotted {
  constructor(
    readonly items: SExpr[],
    readonly tail: SExpr,
  ) {}
}

export function sym(name: string): SSymbol {
  return new SSymbol(name);
}

/** Builds `(items... . tail)`, splicing a list tail the way the reader does. */
export function dotted(items: SExpr[], tail: SExpr): SExpr {
  if (Array.isArray(tail)) return items.concat(tail);
  if (tail instanceof SDotted) return new SDotted(items.concat(tail.items), tail.tail);
  if (items.length === 0) return tail;
  return new SDotted(items, tail);
}

/** `(key . value)`; a list value splices, so `pair('strategy', [...])` prints `(strategy (k . v) ...)`. */
export function pair(key: string, value: SExpr): SExpr {
  return dotted([new SSymbol(key)], value);
}

export function isSymbol(x: unknown, name?: string): x is SSymbol {
  return x instanceof SSymbol && (name === undefined || x.name === name);
}

/** Structural equality; NaN equals NaN (a parsed `nan` must equal itself). */
export function sexprEqual(a: SExpr, b: SExpr): boolean {
  if (typeof a === 'number') return typeof b === 'number' && (a === b ? a !== 0 || Object.is(a, b) : a !== a && b !== b);
  if (typeof a !== 'object') return a === b;
  if (a instanceof SSymbol) return b instanceof SSymbol && a.name === b.name;
  if (a instanceof SDotted) {
    return b instanceof SDotted && listEqual(a.items, b.items) && sexprEqual(a.tail, b.tail);
  }
  return Array.isArray(b) && listEqual(a, b);
}

function listEqual(a: SExpr[], b: SExpr[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!sexprEqual(a[i], b[i])) return false;
  return true;
}

/** Short description of a value for error messages (never the whole subtree). */
export function describeValue(x: SExpr): string {
  if (typeof x === 'number') return `number ${x}`;
  if (typeof x === 'string') return `string ${quoteText(x)}`;
  if (typeof x === 'boolean') return x ? 't' : 'nil';
  if (x instanceof SSymbol) return `symbol ${x.name}`;
  if (x instanceof SDotted) return 'dotted list';
  return x.length === 0 ? 'empty list ()' : `list of ${x.length}`;
}
