import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../persistence/connection.ts';
import { latestVersion, MIGRATIONS, readSchemaVersion, SchemaVersionError } from '../../persistence/migrations.ts';
import { SCHEMA_VERSION } from '../../persistence/schema-version.ts';
import { getStrategy } from '../../persistence/strategies.ts';
import { getRequest } from '../../persistence/outbox.ts';
import { applyOk, metrics, seedRequests, strategy, T0, useTempStores } from './helpers.ts';
import { getResult } from '../../persistence/results.ts';

const temp = useTempStores();

function schemaOf(db: Database.Database): string {
  return (db.prepare('select type, name, sql from sqlite_master order by name').all() as object[]).map((r) => JSON.stringify(r)).join('\n');
}

describe('migrations', () => {
  it('a new database is migrated to the latest version on open', () => {
    const store = temp.open();
    expect(readSchemaVersion(store.sqlite)).toBe(latestVersion());
    expect(latestVersion()).toBe(MIGRATIONS.length);
    const tables = (store.sqlite.prepare("select name from sqlite_master where type = 'table'").all() as { name: string }[]).map((t) => t.name);
    for (const t of ['strategies', 'oos_requests', 'oos_results', 'oos_trades', 'dead_letters', 'failure_events', 'supervisor_events', 'rank_history', 'cursors']) {
      expect(tables).toContain(t);
    }
  });

  it('opening twice is idempotent: the version and the schema stay the same and data is kept', () => {
    const first = temp.open();
    applyOk(first, [{ type: 'upsertStrategy', strategy: strategy('kept') }], T0);
    const before = schemaOf(first.sqlite);
    first.close();
    const second = temp.open({ path: first.path });
    expect(readSchemaVersion(second.sqlite)).toBe(latestVersion());
    expect(schemaOf(second.sqlite)).toBe(before);
    expect(getStrategy(second, 'kept')).toBeDefined();
  });

  it('an older database is upgraded step by step and keeps its rows', () => {
    const old = temp.open({ migrations: MIGRATIONS.slice(0, 1) });
    expect(readSchemaVersion(old.sqlite)).toBe(1);
    // Written as a version-1 build would: the current store's statements expect the latest schema.
    old.sqlite
      .prepare(
        `insert into strategies (name, symbol, timeframe, direction, indicator_type, params, volume, created_at, updated_at, change_seq)
         values ('from-v1', 'USDJPY', 60, 'BOTH', 'sma', '{}', 0.01, ${T0}, ${T0}, 1)`,
      )
      .run();
    old.sqlite.prepare("update sequences set value = 1 where name = 'strategy_change'").run();
    old.close();
    const current = temp.open({ path: old.path });
    expect(readSchemaVersion(current.sqlite)).toBe(latestVersion());
    expect(getStrategy(current, 'from-v1')?.changeSeq).toBe(1);
    applyOk(current, [{ type: 'upsertStrategy', strategy: strategy('from-v3') }], T0);
    expect(getStrategy(current, 'from-v3')).toBeDefined();
  });

  it('version 4 moves each open attempt out of the history into the sends counter; requests read the same', () => {
    const old = temp.open({ migrations: MIGRATIONS.slice(0, 3) });
    applyOk(old, [{ type: 'upsertStrategy', strategy: strategy('a') }, { type: 'upsertStrategy', strategy: strategy('b') }, { type: 'upsertStrategy', strategy: strategy('c') }], T0);
    // Rows as a version-3 build wrote them: every send appended an entry, closed when it ended.
    const insert = old.sqlite.prepare(
      `insert into oos_requests (request_id, strategy_name, payload, state, attempts, next_attempt_at, lease_until, enqueued_at, first_sent_at, last_sent_at, completed_at, history)
       values (?, ?, '{}', ?, ?, ${T0}, ?, ${T0}, ?, ?, ?, ?)`,
    );
    insert.run('r-open', 'a', 'in_flight', 2, T0 + 9_000, T0 + 1, T0 + 5, null,
      JSON.stringify([{ attempt: 1, sent_at: T0 + 1, outcome: 'timeout', at: T0 + 4, error: 'late' }, { attempt: 2, sent_at: T0 + 5 }]));
    insert.run('r-done', 'b', 'done', 1, null, T0 + 1, T0 + 1, T0 + 3, JSON.stringify([{ attempt: 1, sent_at: T0 + 1, outcome: 'result', at: T0 + 3 }]));
    insert.run('r-new', 'c', 'pending', 0, null, null, null, null, '[]');
    const before = ['r-open', 'r-done', 'r-new'].map((id) => old.sqlite.prepare('select history from oos_requests where request_id = ?').pluck().get(id) as string);
    old.close();

    const current = temp.open({ path: old.path });
    const rows = current.sqlite.prepare('select request_id, sends, history from oos_requests order by request_id').all();
    expect(rows).toEqual([
      { request_id: 'r-done', sends: 1, history: before[1] },
      { request_id: 'r-new', sends: 0, history: '[]' },
      { request_id: 'r-open', sends: 2, history: JSON.stringify([{ attempt: 1, sent_at: T0 + 1, outcome: 'timeout', at: T0 + 4, error: 'late' }]) },
    ]);
    expect(getRequest(current, 'r-open')?.history).toEqual([
      { attempt: 1, sentAt: T0 + 1, outcome: 'timeout', at: T0 + 4, error: 'late' },
      { attempt: 2, sentAt: T0 + 5 },
    ]);
    expect(getRequest(current, 'r-done')?.history).toEqual([{ attempt: 1, sentAt: T0 + 1, outcome: 'result', at: T0 + 3 }]);
    // A result for the migrated open attempt closes it as before.
    applyOk(current, [{ type: 'applyResult', requestId: 'r-open', result: metrics() }], T0 + 10);
    expect(getRequest(current, 'r-open')?.history.at(-1)).toEqual({ attempt: 2, sentAt: T0 + 5, outcome: 'result', at: T0 + 10 });
  });

  it('version 5 adds nan_metrics: results stored by a version-4 build read the same (a NULL stays null), new ones keep NaN', () => {
    const old = temp.open({ migrations: MIGRATIONS.slice(0, 4) });
    // Written as a version-4 build would (this build's enqueue writes columns of later versions).
    applyOk(old, [{ type: 'upsertStrategy', strategy: strategy('a') }], T0);
    const kept = 'r-v4';
    old.sqlite.prepare(`insert into oos_requests (request_id, strategy_name, payload, state, next_attempt_at, enqueued_at) values (?, 'a', '{}', 'pending', ${T0}, ${T0})`).run(kept);
    old.sqlite
      .prepare(
        `insert into oos_results (request_id, strategy_name, trades, sharpe, sortino, max_dd, win_rate, profit_factor, sharpe_ci_lower, received_at)
         values (?, 'a', 10, 0.5, null, 0.1, 0.5, 1e999, -1e999, ${T0})`,
      )
      .run(kept);
    old.close();

    const current = temp.open({ path: old.path });
    expect(getResult(current, kept)).toMatchObject({ sharpe: 0.5, sortino: null, profitFactor: Infinity, sharpeCiLower: -Infinity });
    const [fresh] = seedRequests(current, ['b'], T0 + 1);
    applyOk(current, [{ type: 'applyResult', requestId: fresh, result: metrics({ sortino: NaN }) }], T0 + 2);
    expect(getResult(current, fresh)!.sortino).toBeNaN();
  });

  it('refuses a database migrated by a newer build, with a clear message, without touching the file', () => {
    const file = path.join(temp.dir(), 'newer.db');
    const raw = new Database(file);
    raw.exec('create table future (x integer); insert into future values (1);');
    const newer = latestVersion() + 1;
    raw.pragma(`user_version = ${newer}`);
    raw.close();
    const hash = () => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
    const before = hash();

    let error: unknown;
    try {
      openStore({ path: file });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(SchemaVersionError);
    expect((error as Error).message).toContain(`database schema version ${newer} is newer than this build supports (${latestVersion()}); upgrade shoal`);

    expect(hash()).toBe(before);
    const check = new Database(file, { readonly: true });
    expect(check.pragma('journal_mode', { simple: true })).toBe('delete');
    expect(check.pragma('user_version', { simple: true })).toBe(newer);
    check.close();
  });
});

describe('schema version', () => {
  it('SCHEMA_VERSION (what read-only opens expect, without loading the migrations) is the last migration\'s version', () => {
    expect(SCHEMA_VERSION).toBe(latestVersion(MIGRATIONS));
  });
});
