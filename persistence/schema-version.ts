/**
 * The schema version a database file carries (SQLite's user_version) and the one this build
 * writes. Apart from the migrations so that opening a store to read needs neither them nor
 * kysely (the CLI's read commands start fast); a test keeps SCHEMA_VERSION equal to the last
 * migration's.
 */
import type { Database } from 'better-sqlite3';

/** The version the last migration (migrations.ts) leaves. */
export const SCHEMA_VERSION = 9;

export class SchemaVersionError extends Error {
  override readonly name = 'SchemaVersionError';
  constructor(
    readonly found: number,
    readonly supported: number,
    readonly path: string,
  ) {
    super(`database schema version ${found} is newer than this build supports (${supported}); upgrade shoal (database: ${path})`);
  }
}

export function readSchemaVersion(sqlite: Database): number {
  return sqlite.pragma('user_version', { simple: true }) as number;
}

/** Throws SchemaVersionError when the file was migrated by a newer build. Reads only. */
export function assertSchemaSupported(sqlite: Database, supported: number, path: string): void {
  const found = readSchemaVersion(sqlite);
  if (found > supported) throw new SchemaVersionError(found, supported, path);
}
