import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../persistence/connection.ts';
import { latestVersion, MIGRATIONS, readSchemaVersion, SchemaVersionError } from '../../persistence/migrations.ts';
import { getStrategy } from '../../persistence/strategies.ts';
import { applyOk, strategy, T0, useTempStores } from './helpers.ts';

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

  it('refuses a database migrated by a newer build, with a clear message, without touching the file', () => {
    const file = path.join(temp.dir(), 'newer.db');
    const raw = new Database(file);
    raw.exec('create table future (x integer); insert into future values (1);');
    raw.pragma('user_version = 7');
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
    expect((error as Error).message).toContain(`database schema version 7 is newer than this build supports (${latestVersion()}); upgrade shoal`);

    expect(hash()).toBe(before);
    const check = new Database(file, { readonly: true });
    expect(check.pragma('journal_mode', { simple: true })).toBe('delete');
    expect(check.pragma('user_version', { simple: true })).toBe(7);
    check.close();
  });
});
