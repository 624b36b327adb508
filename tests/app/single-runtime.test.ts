import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../cli/main.ts';
import { Shoal } from '../../app/shoal.ts';
import { openStore } from '../../persistence/connection.ts';
import { latestVersion, MIGRATIONS, SchemaVersionError } from '../../persistence/migrations.ts';
import { DatabaseInUseError } from '../../persistence/runtime-lock.ts';
import { SupervisorStartError } from '../../supervisors/index.ts';
import { exited, spawnFixture, useTempStores, waitForLine } from '../persistence/helpers.ts';
import { modeBitsRunner, runFixture } from '../mode-bits.ts';
import { freePort } from './pipeline-harness.ts';

const temp = useTempStores();
const START_ONCE = 'tests/app/fixtures/start-once.ts';

async function startOn(dbPath: string): Promise<Shoal> {
  return Shoal.start({
    dbPath,
    dataDir: path.dirname(dbPath),
    requestEndpoint: `tcp://127.0.0.1:${await freePort()}`,
    resultEndpoint: `tcp://127.0.0.1:${await freePort()}`,
    rankEvaluation: false,
    replay: { replayAtStartup: false },
  });
}

/** A migrated database file, closed. */
function existingDatabase(): { dir: string; dbPath: string } {
  const dir = temp.dir();
  const dbPath = path.join(dir, 'shoal.db');
  openStore({ path: dbPath }).close();
  return { dir, dbPath };
}

describe('one runtime per database', () => {
  it('a second runtime on the same database, on other ports, is refused with one line naming the holder pid; once the holder is SIGKILLed a new start succeeds', async () => {
    const dir = temp.dir();
    const dbPath = path.join(dir, 'shoal.db');
    const holder = spawnFixture('../../app/fixtures/runtime-process.ts', [dbPath, `tcp://127.0.0.1:${await freePort()}`, `tcp://127.0.0.1:${await freePort()}`]);
    await waitForLine(holder, 'running', 60_000);

    const refused = await startOn(dbPath).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DatabaseInUseError);
    expect((refused as Error).message).toBe(`database ${dbPath} is in use by another shoal runtime (pid ${holder.pid}); stop it first, or use another database`);

    holder.kill('SIGKILL');
    expect((await exited(holder)).signal).toBe('SIGKILL');
    const next = await startOn(dbPath);
    await next.stop();
  }, 120_000);

  it("the CLI's read-only commands work while a runtime holds the database", async () => {
    const dir = temp.dir();
    const dbPath = path.join(dir, 'shoal.db');
    const holder = spawnFixture('../../app/fixtures/runtime-process.ts', [dbPath, `tcp://127.0.0.1:${await freePort()}`, `tcp://127.0.0.1:${await freePort()}`]);
    try {
      await waitForLine(holder, 'running', 60_000);
      for (const command of [['tree'], ['queue'], ['dead-letters'], ['report', 'daily', '--date', '2026-11-24']]) {
        let stderr = '';
        const code = await main([...command, '--db', dbPath], { stdout: () => undefined, stderr: (s) => void (stderr += s) });
        expect({ command: command[0], code, stderr }).toEqual({ command: command[0], code: 0, stderr: '' });
      }
    } finally {
      holder.kill('SIGKILL');
      await exited(holder);
    }
  }, 120_000);

  it('a second runtime in the same process is refused naming this process, and starts once the first has stopped', async () => {
    const dbPath = path.join(temp.dir(), 'shoal.db');
    const first = await startOn(dbPath);
    const refused = await startOn(dbPath).catch((e: unknown) => e);
    expect(refused).toMatchObject({ name: 'DatabaseInUseError', holderPid: process.pid });
    await first.stop();
    const second = await startOn(dbPath);
    await second.stop();
  }, 60_000);
});

describe('a start that cannot write the database is refused with one clear line', () => {
  const runner = modeBitsRunner();

  it('a read-only database file', async (ctx) => {
    if ('skip' in runner) return ctx.skip(runner.skip);
    const { dbPath } = existingDatabase();
    fs.chmodSync(dbPath, 0o444);
    expect(await runFixture(runner, START_ONCE, [dbPath])).toBe(`refused: cannot open database ${dbPath}: read-only file`);
  }, 120_000);

  it('a read-only directory', async (ctx) => {
    if ('skip' in runner) return ctx.skip(runner.skip);
    const { dir, dbPath } = existingDatabase();
    fs.chmodSync(dir, 0o555);
    try {
      expect(await runFixture(runner, START_ONCE, [dbPath])).toBe(`refused: cannot open database ${dbPath}: read-only directory ${dir}`);
    } finally {
      fs.chmodSync(dir, 0o700);
    }
  }, 120_000);
});

describe('a start that fails inside the tree', () => {
  it('names the cause first, the failing actor path as context, and keeps the original error as cause', async () => {
    const { dbPath } = existingDatabase();
    const store = openStore({ path: dbPath });
    store.sqlite.pragma('user_version = 999');
    store.close();
    const err = await startOn(dbPath).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SupervisorStartError);
    expect((err as Error).message).toMatch(/^database schema version 999 is newer than this build supports \(\d+\); upgrade shoal \(database: .*\) \(while starting \/shoal\/pipeline\/db-writer\)$/);
    expect((err as Error).cause).toBeInstanceOf(SchemaVersionError);
    // The failed start released the database: once fixed, it starts.
    const fix = new Database(dbPath);
    fix.pragma(`user_version = ${latestVersion(MIGRATIONS)}`);
    fix.close();
    await (await startOn(dbPath)).stop();
  }, 60_000);
});
