/**
 * Opening a store: one better-sqlite3 connection, the pragmas that make it durable, migrations,
 * and a kysely instance over the same connection for typed queries.
 */
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { assertSchemaSupported, latestVersion, migrate, MIGRATIONS, readSchemaVersion, type Migration } from './migrations.ts';
import type { Schema } from './schema.ts';
import { assertWritable } from './write-access.ts';
import { UuidV7Generator, type RandomSource } from './uuidv7.ts';

/**
 * Durability of a commit, in WAL mode:
 * - FULL: the WAL is fsynced at every commit. A committed request survives kill -9 AND a power
 *   loss or OS crash. Costs one fsync per transaction, which group commit amortises.
 * - NORMAL: the WAL is fsynced only at checkpoints. A commit survives a process crash (kill -9:
 *   the OS still holds the written pages), but the last commits may be lost on power loss or an
 *   OS crash; the database itself stays consistent either way.
 */
export type SynchronousMode = 'FULL' | 'NORMAL';

export interface StoreOptions {
  /** Database file. */
  path: string;
  /** Default FULL. */
  synchronous?: SynchronousMode;
  /** How long a write waits for another connection's write lock before SQLITE_BUSY. Default 5000 ms. */
  busyTimeoutMs?: number;
  /** Automatic checkpoint after this many WAL pages. Default 1000 (SQLite's default, set explicitly). */
  walAutocheckpointPages?: number;
  /**
   * Page size of a database this call creates (a power of two, 512-65536). Default 8 KiB: a
   * commit's cost here is mostly one write() pair per dirty page, and rows written in time order
   * (requests, results, their indexes) fill half as many 8 KiB pages; see docs/adr/0002. An
   * existing file keeps the page size it was made with (WAL mode cannot change it).
   */
  pageSizeBytes?: number;
  /** After a checkpoint resets the WAL, truncate the file down to this size. Default 64 MiB. */
  journalSizeLimitBytes?: number;
  /** A read-only connection: no migrations, no writes; the schema must be current. */
  readonly?: boolean;
  /** Randomness for request ids (tests pass a seeded source). Default: crypto. */
  random?: RandomSource;
  /** Migrations to apply; tests use a prefix to build an older schema. Default: all. */
  migrations?: readonly Migration[];
}

export interface Store {
  readonly path: string;
  readonly sqlite: Database.Database;
  /** Typed queries over the same connection (kysely's SqliteDialect). Not for the hot path. */
  readonly db: Kysely<Schema>;
  readonly synchronous: SynchronousMode;
  readonly readonly: boolean;
  /** Time-ordered request ids, strictly increasing within this connection. */
  readonly ids: UuidV7Generator;
  close(): void;
}

const SYNCHRONOUS_LEVEL: Record<SynchronousMode, number> = { FULL: 2, NORMAL: 1 };

function nonNegativeInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`openStore: ${name} must be a non-negative integer, got ${value}`);
  return value;
}

/** An in-memory or temporary database, or a URI: nothing on disk to check. */
function isSpecialPath(p: string): boolean {
  return p === '' || p === ':memory:' || p.startsWith('file:');
}

export function openStore(options: StoreOptions): Store {
  const synchronous = options.synchronous ?? 'FULL';
  if (!Object.hasOwn(SYNCHRONOUS_LEVEL, synchronous)) throw new RangeError(`openStore: synchronous must be FULL or NORMAL, got ${synchronous}`);
  const busyTimeoutMs = nonNegativeInteger('busyTimeoutMs', options.busyTimeoutMs ?? 5000);
  const autocheckpoint = nonNegativeInteger('walAutocheckpointPages', options.walAutocheckpointPages ?? 1000);
  const journalSizeLimit = nonNegativeInteger('journalSizeLimitBytes', options.journalSizeLimitBytes ?? 64 * 1024 * 1024);
  const pageSize = options.pageSizeBytes ?? 8192;
  if (!(Number.isInteger(pageSize) && pageSize >= 512 && pageSize <= 65536 && (pageSize & (pageSize - 1)) === 0)) {
    throw new RangeError(`openStore: pageSizeBytes must be a power of two from 512 to 65536, got ${pageSize}`);
  }
  const migrations = options.migrations ?? MIGRATIONS;
  const readonly = options.readonly ?? false;

  // SQLite would open a file it may not write read-only and fail only at the first write.
  if (!readonly && !isSpecialPath(options.path)) assertWritable(options.path, [`${options.path}-wal`, `${options.path}-shm`]);
  const sqlite = new Database(options.path, readonly ? { readonly: true, fileMustExist: true } : {});
  try {
    sqlite.pragma(`busy_timeout = ${busyTimeoutMs}`);
    // Before any pragma that writes: a file from a newer build is left exactly as it is.
    assertSchemaSupported(sqlite, latestVersion(migrations), options.path);
    if (!readonly) {
      // Only an empty file takes a page size; after the first write it is fixed.
      if (sqlite.pragma('page_count', { simple: true }) === 0) sqlite.pragma(`page_size = ${pageSize}`);
      const mode = sqlite.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal') throw new Error(`could not enable WAL on ${options.path}: journal_mode is ${String(mode)}`);
    }
    sqlite.pragma(`synchronous = ${synchronous}`);
    sqlite.pragma('foreign_keys = ON');
    // UPDATE ... RETURNING and sorts build temporary b-trees; in temp files each RETURNING
    // statement cost ~100 us here, in memory ~5 us. They hold one batch's rows at most.
    sqlite.pragma('temp_store = MEMORY');
    sqlite.pragma(`wal_autocheckpoint = ${autocheckpoint}`);
    if (!readonly) sqlite.pragma(`journal_size_limit = ${journalSizeLimit}`);
  } catch (err) {
    sqlite.close();
    throw err;
  }

  const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: sqlite }) });
  try {
    if (readonly) {
      const version = readSchemaVersion(sqlite);
      const latest = latestVersion(migrations);
      if (version !== latest) {
        throw new Error(`database schema version ${version} is older than this build (${latest}); open ${options.path} read-write once to migrate it`);
      }
    } else {
      migrate(sqlite, db, migrations);
    }
  } catch (err) {
    sqlite.close();
    throw err;
  }

  return {
    path: options.path,
    sqlite,
    db,
    synchronous,
    readonly,
    ids: new UuidV7Generator(options.random),
    close: () => {
      if (sqlite.open) sqlite.close();
    },
  };
}

export type CheckpointMode = 'PASSIVE' | 'FULL' | 'RESTART' | 'TRUNCATE';

export interface CheckpointResult {
  /** True when readers or a writer kept the checkpoint from completing. */
  busy: boolean;
  /** Frames in the WAL before the checkpoint. */
  logFrames: number;
  /** Frames copied into the database. */
  checkpointedFrames: number;
}

/**
 * Copies the WAL into the database. Call periodically (e.g. every few seconds) so the WAL stays
 * bounded: PASSIVE never waits; TRUNCATE waits (up to busy_timeout) and empties the WAL file.
 */
export function checkpoint(store: Store, mode: CheckpointMode = 'PASSIVE'): CheckpointResult {
  const [row] = store.sqlite.pragma(`wal_checkpoint(${mode})`) as Array<{ busy: number; log: number; checkpointed: number }>;
  return { busy: row.busy !== 0, logFrames: row.log, checkpointedFrames: row.checkpointed };
}
