/**
 * Store failures that abort a whole write batch, classified so the caller can choose a policy
 * (wait and retry on 'busy', alert on 'full', stop on 'corrupt'). Per-command failures (a
 * constraint, a bad value) are not thrown: they come back as an error outcome for that command.
 */
export type StoreErrorCode = 'busy' | 'full' | 'io' | 'corrupt' | 'readonly' | 'other';

export class StoreError extends Error {
  override readonly name = 'StoreError';

  constructor(
    readonly code: StoreErrorCode,
    message: string,
    /** SQLite's extended code, e.g. SQLITE_IOERR_FSYNC, when the cause was a SQLite error. */
    readonly sqliteCode: string | undefined,
    /** Commands in the batch that was rolled back (0 outside a batch). */
    readonly batchSize: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** better-sqlite3's SqliteError carries SQLite's extended result code as a string. */
export function sqliteCodeOf(err: unknown): string | undefined {
  if (err instanceof Error && 'code' in err && typeof err.code === 'string' && err.code.startsWith('SQLITE_')) return err.code;
  return undefined;
}

export function classifySqliteCode(code: string | undefined): StoreErrorCode {
  if (code === undefined) return 'other';
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return 'busy';
  if (code === 'SQLITE_FULL') return 'full';
  if (code.startsWith('SQLITE_IOERR') || code.startsWith('SQLITE_CANTOPEN')) return 'io';
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') return 'corrupt';
  if (code.startsWith('SQLITE_READONLY')) return 'readonly';
  return 'other';
}

// Errors that concern one command's data; anything else from SQLite concerns the database.
const PER_COMMAND_CODES = ['SQLITE_CONSTRAINT', 'SQLITE_MISMATCH', 'SQLITE_TOOBIG', 'SQLITE_RANGE', 'SQLITE_ERROR'];

/**
 * True when the error is about the database rather than one command's data: a batch must then be
 * rolled back as a whole. Non-SQLite errors (validation, JSON, binding) are per-command.
 */
export function isBatchFatal(err: unknown): boolean {
  const code = sqliteCodeOf(err);
  if (code === undefined) return false;
  return !PER_COMMAND_CODES.some((c) => code === c || code.startsWith(`${c}_`));
}

const HINTS: Record<StoreErrorCode, string> = {
  busy: 'another connection held the write lock longer than busy_timeout',
  full: 'the disk or max_page_count is exhausted; free space or raise the limit, then resubmit',
  io: 'the operating system reported an I/O error',
  corrupt: 'the database file is damaged; stop writing and restore from a backup (shoal backup; docs/operations.md, Backup and restore)',
  readonly: 'the database cannot be written (file permissions or a read-only connection)',
  other: 'unexpected database error',
};

export function hintFor(code: StoreErrorCode): string {
  return HINTS[code];
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
