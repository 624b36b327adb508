/**
 * `shoal backup` run as a user runs it (the built CLI), against a database a runtime in another
 * process keeps writing to.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { latestVersion } from '../../persistence/migrations.ts';
import { exited, spawnFixture, useTempStores, waitForLine } from '../persistence/helpers.ts';
import { runCli } from './cli-process.ts';

const temp = useTempStores();
const children: ReturnType<typeof spawnFixture>[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await exited(c);
  }
});

const countOf = (db: Database.Database, sql: string) => (db.prepare(sql).get() as { n: number }).n;

describe('shoal backup', () => {
  // Rule: a backup taken while the runtime writes is one consistent point in time, verified, a
  // single file the runtime and the CLI can open.
  it('copies the database while a runtime writes to it: integrity ok, current schema, every result with its done request', async () => {
    const dir = temp.dir();
    const dbPath = path.join(dir, 'shoal.db');
    const copy = path.join(dir, 'backup.db');
    const writer = spawnFixture('../../cli/fixtures/writing-runtime.ts', [dbPath]);
    children.push(writer);
    await waitForLine(writer, 'writing', 60_000);

    const r = await runCli(['backup', '--db', dbPath, '--to', copy, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { target: string; schemaVersion: number; rows: Record<string, number>; bytes: number };
    expect(report).toMatchObject({ target: copy, schemaVersion: latestVersion(), bytes: fs.statSync(copy).size });
    // The runtime was still writing: it did not wait for the backup, nor the backup for it.
    expect(writer.exitCode).toBeNull();

    const db = new Database(copy, { readonly: true });
    try {
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(db.pragma('user_version', { simple: true })).toBe(latestVersion());
      expect(db.pragma('journal_mode', { simple: true })).toBe('delete');
      expect(db.pragma('foreign_key_check')).toEqual([]);
      const done = countOf(db, "select count(*) as n from oos_requests where state = 'done'");
      expect(done).toBeGreaterThanOrEqual(24);
      // One point in time: no result without its completed request, no completed request without its result.
      expect(countOf(db, "select count(*) as n from oos_results r join oos_requests q using (request_id) where q.state = 'done'")).toBe(countOf(db, 'select count(*) as n from oos_results'));
      expect(countOf(db, 'select count(*) as n from oos_results')).toBe(done);
      expect(countOf(db, 'select count(*) as n from oos_trades t left join oos_results r using (request_id) where r.request_id is null')).toBe(0);
      expect(report.rows.oos_requests).toBe(countOf(db, 'select count(*) as n from oos_requests'));
      expect(report.rows.oos_trades).toBe(countOf(db, 'select count(*) as n from oos_trades'));
    } finally {
      db.close();
    }
    expect(fs.existsSync(`${copy}-wal`)).toBe(false);
    expect(fs.readdirSync(dir).filter((f) => f.includes('partial'))).toEqual([]);
    // The copy is a database shoal reads as it is.
    const queue = await runCli(['queue', '--db', copy, '--json']);
    expect(queue.code).toBe(0);
  }, 120_000);

  // Rule: bad input is one line and exit 2; an existing backup is never replaced unasked.
  it('refuses a missing --to, a missing database, a missing directory and an existing file (kept as it was), each in one line', async () => {
    const dir = temp.dir();
    const dbPath = path.join(dir, 'shoal.db');
    temp.open({ path: dbPath }).close();
    const existing = path.join(dir, 'old.db');
    fs.writeFileSync(existing, 'an older backup');

    const noTo = await runCli(['backup', '--db', dbPath]);
    expect(noTo.code).toBe(2);
    expect(noTo.stderr).toMatch(/^shoal backup: missing --to FILE \(where the copy goes\)\n\nUsage: shoal backup/);
    const cases: Array<[string[], string]> = [
      [['--db', path.join(dir, 'none.db'), '--to', path.join(dir, 'x.db')], `shoal backup: no database at ${path.join(dir, 'none.db')}`],
      [['--db', dbPath, '--to', path.join(dir, 'no-dir', 'x.db')], `shoal backup: directory ${path.join(dir, 'no-dir')} does not exist`],
      [['--db', dbPath, '--to', existing], `shoal backup: ${existing} exists; choose another file or pass --force to replace it`],
    ];
    for (const [args, line] of cases) {
      const r = await runCli(['backup', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toBe(`${line}\n`);
    }
    expect(fs.readFileSync(existing, 'utf8')).toBe('an older backup');
    const forced = await runCli(['backup', '--db', dbPath, '--to', existing, '--force']);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toMatch(/^backed up .* integrity ok/);
  }, 60_000);
});
