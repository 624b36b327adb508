import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { describe, expect, it } from 'vitest';
import { param, perConnection, prepared } from '../../persistence/prepared.ts';

interface TestDb {
  t: { a: number; b: string | null; c: string };
}

function setup() {
  const sqlite = new Database(':memory:');
  sqlite.exec('create table t (a integer, b text, c text)');
  const db = new Kysely<TestDb>({ dialect: new SqliteDialect({ database: sqlite }) });
  return { sqlite, db };
}

describe('prepared statements', () => {
  it('binds values by name wherever they appear, keeps constants, and binds a missing value as NULL', () => {
    const { sqlite, db } = setup();
    const insert = prepared(sqlite, ($: { a: number; b?: string }) => db.insertInto('t').values({ c: 'const', b: $.b, a: $.a }));
    insert.run({ a: 1, b: 'x' });
    insert.run({ a: 2 });
    const find = prepared(sqlite, ($: { min: number; c: string }) => db.selectFrom('t').selectAll().where('c', '=', $.c).where('a', '>=', $.min).orderBy('a'));
    expect(find.all({ min: 1, c: 'const' })).toEqual([
      { a: 1, b: 'x', c: 'const' },
      { a: 2, b: null, c: 'const' },
    ]);
    expect(find.get({ min: 2, c: 'const' })).toEqual({ a: 2, b: null, c: 'const' });
    sqlite.close();
  });

  it('accepts a compiled query with param() placeholders', () => {
    const { sqlite, db } = setup();
    sqlite.exec("insert into t values (5, null, 'k')");
    const q = prepared(sqlite, db.selectFrom('t').select('a').where('c', '=', param<string>('key')).compile());
    expect(q.get({ key: 'k' })).toEqual({ a: 5 });
    sqlite.close();
  });

  it('perConnection builds once per connection', () => {
    let builds = 0;
    const stmts = perConnection((s: { sqlite: Database.Database }) => ({ n: ++builds, s }));
    const a = { sqlite: new Database(':memory:') };
    const b = { sqlite: new Database(':memory:') };
    expect(stmts(a).n).toBe(1);
    expect(stmts(a).n).toBe(1);
    expect(stmts(b).n).toBe(2);
    a.sqlite.close();
    b.sqlite.close();
  });
});
