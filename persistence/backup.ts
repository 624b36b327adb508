/**
 * An online backup: a consistent copy of the database while a runtime writes to it, through
 * SQLite's backup API (better-sqlite3's `backup`). The copy is made in one step, so it is one
 * read transaction, one point in time: in WAL mode the writer goes on meanwhile, and no write
 * can make the copy start over. The copy is written beside the target, verified by opening it
 * (integrity check, schema version, the outbox's invariants), made a single file (journal mode
 * DELETE, no -wal beside it), and only then renamed into place: a failed backup leaves no file
 * that looks like one.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
// The version alone, not the migrations: the command starts without kysely.
import { readSchemaVersion, SCHEMA_VERSION } from './schema-version.ts';

export interface BackupReport {
  readonly source: string;
  readonly target: string;
  readonly bytes: number;
  readonly pages: number;
  readonly schemaVersion: number;
  /** Rows in the copy, by table. */
  readonly rows: Readonly<Record<string, number>>;
  readonly ms: number;
}

/** Why a backup was not made; `code` says whose fault (the CLI's exit code follows it). */
export class BackupError extends Error {
  override readonly name = 'BackupError';
  constructor(
    message: string,
    /** input: a bad source or target (exit 2); failed: the copy failed or did not verify (exit 1). */
    readonly code: 'input' | 'failed',
  ) {
    super(message);
  }
}

const COUNTED = ['strategies', 'oos_requests', 'oos_results', 'oos_trades', 'dead_letters', 'failure_events', 'supervisor_events'] as const;

export interface BackupOptions {
  /** Replace an existing target. Default: refuse. */
  readonly overwrite?: boolean;
}

export async function backupDatabase(source: string, target: string, options: BackupOptions = {}): Promise<BackupReport> {
  const started = Date.now();
  if (!fs.existsSync(source)) throw new BackupError(`no database at ${source}`, 'input');
  if (path.resolve(source) === path.resolve(target)) throw new BackupError(`the backup target is the database itself: ${target}`, 'input');
  const dir = path.dirname(path.resolve(target));
  if (!fs.existsSync(dir)) throw new BackupError(`directory ${dir} does not exist`, 'input');
  if (fs.existsSync(target) && !options.overwrite) throw new BackupError(`${target} exists; choose another file or pass --force to replace it`, 'input');

  let db: Database.Database;
  try {
    db = new Database(source, { readonly: true, fileMustExist: true });
  } catch (e) {
    throw new BackupError(`cannot open ${source}: ${(e as Error).message}`, 'input');
  }
  const partial = path.join(dir, `.${path.basename(target)}.partial-${process.pid}`);
  try {
    const sourceVersion = readSchemaVersion(db);
    if (sourceVersion > SCHEMA_VERSION) {
      throw new BackupError(`database schema version ${sourceVersion} is newer than this build supports (${SCHEMA_VERSION}); back it up with a newer shoal`, 'input');
    }
    fs.rmSync(partial, { force: true });
    try {
      // After the backup's first (empty) step, all remaining pages in the next one.
      await db.backup(partial, { progress: () => 0x7fffffff });
    } catch (e) {
      throw new BackupError(`copying ${source} failed: ${(e as Error).message}`, 'failed');
    }
    const verified = verifyCopy(partial, sourceVersion);
    fs.renameSync(partial, target);
    fsyncDirectory(dir);
    return { source, target, bytes: fs.statSync(target).size, ...verified, ms: Date.now() - started };
  } catch (e) {
    fs.rmSync(partial, { force: true });
    for (const side of ['-wal', '-shm', '-journal']) fs.rmSync(`${partial}${side}`, { force: true });
    throw e;
  } finally {
    db.close();
  }
}

/** Opens the copy and checks it; turns it into a single file. Throws BackupError('failed'). */
function verifyCopy(file: string, expectedVersion: number): { pages: number; schemaVersion: number; rows: Record<string, number> } {
  const copy = new Database(file);
  try {
    const integrity = copy.pragma('integrity_check') as Array<{ integrity_check: string }>;
    if (integrity.length !== 1 || integrity[0].integrity_check !== 'ok') {
      throw new BackupError(`the copy failed its integrity check: ${integrity.map((r) => r.integrity_check).slice(0, 3).join('; ')}`, 'failed');
    }
    const schemaVersion = readSchemaVersion(copy);
    if (schemaVersion !== expectedVersion) throw new BackupError(`the copy has schema version ${schemaVersion}, the database ${expectedVersion}`, 'failed');
    const foreign = copy.pragma('foreign_key_check') as unknown[];
    if (foreign.length > 0) throw new BackupError(`the copy has ${foreign.length} row(s) whose references are missing`, 'failed');
    const tables = new Set((copy.prepare("select name from sqlite_master where type = 'table'").all() as Array<{ name: string }>).map((r) => r.name));
    const rows: Record<string, number> = {};
    for (const t of COUNTED) if (tables.has(t)) rows[t] = (copy.prepare(`select count(*) as n from ${t}`).get() as { n: number }).n;
    // A single file: the copy has no WAL of its own once it is out of WAL mode.
    copy.pragma('journal_mode = DELETE');
    const pages = copy.pragma('page_count', { simple: true }) as number;
    return { pages, schemaVersion, rows };
  } finally {
    copy.close();
  }
}

function fsyncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Not every file system lets a directory be fsynced; the rename is still in place.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
