/**
 * One runtime per database. The runtime holds `<db>.lock`, a small SQLite file, on its own
 * connection in `locking_mode=EXCLUSIVE` after a write: SQLite then keeps its exclusive lock (a
 * POSIX advisory lock) until the connection closes, and the kernel drops it when the process
 * dies, so a SIGKILLed holder leaves nothing stale. The database itself is not locked: the CLI
 * and the runtime's own readers open it as before.
 *
 * The holder writes its pid into the lock file's header (`user_version`, bytes 60-63, with
 * `application_id` at 68-71 marking the file as ours) in the same transaction that takes the lock.
 * A refused starter reads those bytes as a plain file: SQLite cannot read a file another
 * connection holds exclusively. It must never open the file that way while this process holds
 * the lock, as closing any descriptor of a file drops the process's POSIX locks on it; a holder
 * in this process is therefore found in `heldHere` instead. A starter refused in the instant
 * between the holder taking the lock and committing its pid reads the previous holder's pid (or
 * none); the refusal itself is decided by the lock alone.
 */
import Database from 'better-sqlite3';
import fs from 'node:fs';
import { sqliteCodeOf } from './errors.ts';

/** "shol" in ASCII: marks a lock file written by shoal. */
const APPLICATION_ID = 0x73686f6c;

export class DatabaseInUseError extends Error {
  override readonly name = 'DatabaseInUseError';
  constructor(
    readonly dbPath: string,
    /** The holder's pid, when the lock file records one. */
    readonly holderPid: number | undefined,
  ) {
    super(
      `database ${dbPath} is in use by another shoal runtime (${holderPid === undefined ? 'pid unknown' : `pid ${holderPid}`}); stop it first, or use another database`,
    );
  }
}

export interface RuntimeLock {
  readonly dbPath: string;
  /** The lock file, `<db>.lock`. */
  readonly path: string;
  /** Releases the lock (idempotent). */
  release(): void;
}

/** Lock files held by this process, by device and inode, with the pid they record. */
const heldHere = new Map<string, number>();

export function lockFileOf(dbPath: string): string {
  return `${dbPath}.lock`;
}

/**
 * Takes the runtime lock of `dbPath` or throws DatabaseInUseError naming the holder's pid. Keep
 * the returned lock referenced while the runtime runs: a collected connection closes and its lock
 * goes with it.
 */
export function acquireRuntimeLock(dbPath: string): RuntimeLock {
  const file = lockFileOf(dbPath);
  // A held lock is an answer, not something to wait for; the short wait only rides out another
  // process's probe (runtimeHolder), which holds a read lock for an instant.
  const conn = new Database(file, { timeout: 250 });
  try {
    conn.pragma('locking_mode = EXCLUSIVE');
    // No journal file beside the lock: the one page written holds only these two numbers.
    conn.pragma('journal_mode = MEMORY');
    conn.exec('BEGIN EXCLUSIVE');
    conn.pragma(`application_id = ${APPLICATION_ID}`);
    conn.pragma(`user_version = ${process.pid}`);
    // In EXCLUSIVE locking mode the commit keeps the exclusive lock.
    conn.exec('COMMIT');
  } catch (e) {
    conn.close();
    const code = sqliteCodeOf(e);
    if (code?.startsWith('SQLITE_BUSY') || code?.startsWith('SQLITE_LOCKED')) throw new DatabaseInUseError(dbPath, holderPid(file));
    throw new Error(`cannot take the runtime lock ${file}: ${(e as Error).message}`, { cause: e });
  }
  const key = fileKey(file);
  heldHere.set(key, process.pid);
  let released = false;
  return {
    dbPath,
    path: file,
    release: () => {
      if (released) return;
      released = true;
      heldHere.delete(key);
      conn.close();
    },
  };
}

/** The pid a lock file records, or undefined if it records none. */
function holderPid(file: string): number | undefined {
  let key: string;
  try {
    key = fileKey(file);
  } catch {
    return undefined;
  }
  const here = heldHere.get(key);
  if (here !== undefined) return here;
  const header = Buffer.alloc(72);
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    if (fs.readSync(fd, header, 0, header.length, 0) < header.length) return undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
  if (header.readUInt32BE(68) !== APPLICATION_ID) return undefined;
  const pid = header.readUInt32BE(60);
  return pid > 0 ? pid : undefined;
}

function fileKey(file: string): string {
  const st = fs.statSync(file, { bigint: true });
  return `${st.dev}:${st.ino}`;
}

/**
 * Whether a runtime holds the lock of `dbPath` now, and its pid when the lock file records one.
 * Probes with a read on the lock file, which the holder's exclusive lock refuses at once; never
 * used for a lock this process holds (closing the probe would drop it), which is answered from
 * memory.
 */
export function runtimeHolder(dbPath: string): { running: boolean; pid?: number } {
  const file = lockFileOf(dbPath);
  if (!fs.existsSync(file)) return { running: false };
  const here = heldHere.get(fileKey(file));
  if (here !== undefined) return { running: true, pid: here };
  let probe: Database.Database | undefined;
  try {
    probe = new Database(file, { readonly: true, fileMustExist: true, timeout: 0 });
    probe.prepare('select count(*) from sqlite_master').get();
    return { running: false };
  } catch (e) {
    const code = sqliteCodeOf(e);
    if (code?.startsWith('SQLITE_BUSY') || code?.startsWith('SQLITE_LOCKED')) return { running: true, pid: holderPid(file) };
    throw new Error(`cannot read the runtime lock ${file}: ${(e as Error).message}`, { cause: e });
  } finally {
    probe?.close();
  }
}
