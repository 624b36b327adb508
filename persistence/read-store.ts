/**
 * A read-only connection without kysely or the migrations: what the CLI's read commands open, so
 * that `shoal queue` starts in a small multiple of a bare node start (importing kysely alone
 * costs about 2.9x one; docs/adr/0007). Queries on it are plain SQL prepared once per connection.
 */
import Database from 'better-sqlite3';
import { assertSchemaSupported, readSchemaVersion, SCHEMA_VERSION } from './schema-version.ts';

export interface ReadStore {
  readonly path: string;
  readonly sqlite: Database.Database;
  close(): void;
}

export function openReadStore(path: string, options: { busyTimeoutMs?: number } = {}): ReadStore {
  const sqlite = new Database(path, { readonly: true, fileMustExist: true });
  try {
    sqlite.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5_000}`);
    assertSchemaSupported(sqlite, SCHEMA_VERSION, path);
    const version = readSchemaVersion(sqlite);
    if (version !== SCHEMA_VERSION) throw new Error(`database schema version ${version} is older than this build (${SCHEMA_VERSION}); open ${path} read-write once to migrate it`);
  } catch (err) {
    sqlite.close();
    throw err;
  }
  return {
    path,
    sqlite,
    close: () => {
      if (sqlite.open) sqlite.close();
    },
  };
}
