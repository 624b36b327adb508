/**
 * Versioned schema migrations, tracked in `PRAGMA user_version`. Each migration runs in its own
 * BEGIN IMMEDIATE transaction together with its version bump, so a crash leaves the database at
 * the previous version or the next, never in between. DDL is written with kysely's schema builder
 * and compiled synchronously (the store opens synchronously).
 */
import type { Database } from 'better-sqlite3';
import { sql, type Compilable, type Kysely, type RawBuilder } from 'kysely';
import { DEAD_LETTER_STATES, HOST_FORWARD_STATES, RANKS, REQUEST_ORIGINS, REQUEST_STATES, type Schema } from './schema.ts';
import { ALERT_KIND_NAMES, SEVERITIES } from '../domain/alerts.ts';
import { DELIVERY_STATES } from '../domain/alert-delivery.ts';
import { readSchemaVersion } from './schema-version.ts';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly up: (db: Kysely<Schema>) => Compilable[];
  /**
   * Rebuilds a table other tables reference (SQLite's way to change a CHECK): runs with foreign
   * key enforcement off, as SQLite's ALTER TABLE procedure prescribes, and commits only if
   * `foreign_key_check` then finds nothing.
   */
  readonly rebuildsTables?: boolean;
}

/** Thrown, without touching the file, when a newer build has migrated the database already. */
// The schema builder takes table options and CHECK expressions as SQL fragments; these helpers
// keep them in one place and derive the allowed values from the same constants as the types.
const STRICT = sql`strict`;

function oneOf(column: string, values: readonly string[]): RawBuilder<unknown> {
  return sql`${sql.ref(column)} in (${sql.join(values.map((v) => sql.lit(v)))})`;
}

function fraction(column: string): RawBuilder<unknown> {
  return sql`${sql.ref(column)} between 0 and 1`;
}

/** A raw statement (one the builders cannot express, such as INSERT ... SELECT of named columns) as a migration step. */
function compilable(db: Kysely<Schema>, statement: RawBuilder<unknown>): Compilable {
  return { compile: () => statement.compile(db) };
}

function jsonText(column: string): RawBuilder<unknown> {
  return sql`json_valid(${sql.ref(column)})`;
}

const strategiesAndRanks: Migration = {
  version: 1,
  name: 'strategies, change sequence, rank history, cursors',
  up: (db) => [
    db.schema
      .createTable('strategies')
      .addColumn('name', 'text', (c) => c.primaryKey().notNull())
      .addColumn('symbol', 'text', (c) => c.notNull())
      .addColumn('timeframe', 'integer', (c) => c.notNull())
      .addColumn('direction', 'text', (c) => c.notNull())
      .addColumn('indicator_type', 'text', (c) => c.notNull())
      .addColumn('params', 'text', (c) => c.notNull().check(jsonText('params')))
      .addColumn('sl', 'real')
      .addColumn('tp', 'real')
      .addColumn('volume', 'real', (c) => c.notNull())
      .addColumn('sharpe', 'real')
      .addColumn('profit_factor', 'real')
      .addColumn('win_rate', 'real', (c) => c.check(fraction('win_rate')))
      .addColumn('trades', 'integer')
      .addColumn('max_dd', 'real')
      .addColumn('oos_sharpe', 'real')
      .addColumn('oos_profit_factor', 'real')
      .addColumn('oos_win_rate', 'real', (c) => c.check(fraction('oos_win_rate')))
      .addColumn('oos_max_dd', 'real')
      .addColumn('oos_trades', 'integer')
      .addColumn('oos_request_id', 'text')
      .addColumn('oos_completed_at', 'integer')
      .addColumn('rank', 'text', (c) => c.notNull().defaultTo('INCUBATOR').check(oneOf('rank', RANKS)))
      .addColumn('cpcv_pass_rate', 'real')
      .addColumn('cpcv_median_dd', 'real')
      .addColumn('created_at', 'integer', (c) => c.notNull())
      .addColumn('updated_at', 'integer', (c) => c.notNull())
      .addColumn('change_seq', 'integer', (c) => c.notNull())
      .modifyEnd(STRICT),
    // Unique: two writes never share a change_seq, so a reader's watermark cannot skip one.
    db.schema.createIndex('strategies_change_seq').on('strategies').column('change_seq').unique(),
    db.schema.createIndex('strategies_rank').on('strategies').columns(['rank', 'name']),
    db.schema
      .createTable('sequences')
      .addColumn('name', 'text', (c) => c.primaryKey().notNull())
      .addColumn('value', 'integer', (c) => c.notNull())
      .modifyEnd(STRICT),
    db.insertInto('sequences').values({ name: 'strategy_change', value: 0 }),
    db.schema
      .createTable('rank_history')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('strategy_name', 'text', (c) => c.notNull().references('strategies.name'))
      .addColumn('at', 'integer', (c) => c.notNull())
      .addColumn('from_rank', 'text', (c) => c.check(oneOf('from_rank', RANKS)))
      .addColumn('to_rank', 'text', (c) => c.notNull().check(oneOf('to_rank', RANKS)))
      .addColumn('reason', 'text', (c) => c.notNull())
      .addColumn('metrics', 'text', (c) => c.notNull().check(jsonText('metrics')))
      .modifyEnd(STRICT),
    db.schema.createIndex('rank_history_strategy').on('rank_history').columns(['strategy_name', 'at']),
    db.schema
      .createTable('cursors')
      .addColumn('name', 'text', (c) => c.primaryKey().notNull())
      .addColumn('value', 'integer', (c) => c.notNull())
      .addColumn('updated_at', 'integer', (c) => c.notNull())
      .modifyEnd(STRICT),
  ],
};

const outbox: Migration = {
  version: 2,
  name: 'OOS request outbox, results, trades',
  up: (db) => [
    db.schema
      .createTable('oos_requests')
      .addColumn('request_id', 'text', (c) => c.primaryKey().notNull())
      .addColumn('strategy_name', 'text', (c) => c.notNull().references('strategies.name'))
      .addColumn('payload', 'text', (c) => c.notNull().check(jsonText('payload')))
      // The states of version 2; migration 7 adds superseded.
      .addColumn('state', 'text', (c) => c.notNull().check(oneOf('state', ['pending', 'in_flight', 'done', 'dead'])))
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0).check(sql`attempts >= 0`))
      .addColumn('next_attempt_at', 'integer', (c) => c.notNull())
      .addColumn('lease_until', 'integer')
      .addColumn('traceparent', 'text')
      .addColumn('enqueued_at', 'integer', (c) => c.notNull())
      .addColumn('first_sent_at', 'integer')
      .addColumn('last_sent_at', 'integer')
      .addColumn('completed_at', 'integer')
      .addColumn('last_error', 'text')
      .addColumn('history', 'text', (c) => c.notNull().defaultTo('[]').check(jsonText('history')))
      .modifyEnd(STRICT),
    // At most one live request per strategy; finished rows stay as history without conflicting.
    db.schema
      .createIndex('oos_requests_one_live')
      .on('oos_requests')
      .column('strategy_name')
      .unique()
      .where(sql.ref('state'), 'in', ['pending', 'in_flight']),
    // Due selection and lease expiry index only the rows in that state: done rows pile up over
    // time and would otherwise grow both indexes. The request_id column makes "oldest first"
    // with a LIMIT an index walk without a sort.
    db.schema
      .createIndex('oos_requests_due')
      .on('oos_requests')
      .columns(['next_attempt_at', 'request_id'])
      .where(sql.ref('state'), '=', 'pending'),
    db.schema
      .createIndex('oos_requests_lease')
      .on('oos_requests')
      .columns(['lease_until', 'request_id'])
      .where(sql.ref('state'), '=', 'in_flight'),
    db.schema
      .createTable('oos_results')
      .addColumn('request_id', 'text', (c) => c.primaryKey().notNull().references('oos_requests.request_id'))
      .addColumn('strategy_name', 'text', (c) => c.notNull())
      .addColumn('trades', 'integer', (c) => c.notNull())
      .addColumn('wins', 'integer')
      .addColumn('losses', 'integer')
      .addColumn('pnl', 'real')
      .addColumn('sharpe', 'real')
      .addColumn('sortino', 'real')
      .addColumn('max_dd', 'real')
      .addColumn('win_rate', 'real', (c) => c.check(fraction('win_rate')))
      .addColumn('profit_factor', 'real')
      .addColumn('adjusted_sharpe', 'real')
      .addColumn('sharpe_ci_lower', 'real')
      .addColumn('received_at', 'integer', (c) => c.notNull())
      // ~150-byte rows looked up by request id: clustered on it, one B-tree instead of two.
      .modifyEnd(sql`without rowid, strict`),
    db.schema
      .createTable('oos_trades')
      .addColumn('request_id', 'text', (c) => c.notNull().references('oos_results.request_id').onDelete('cascade'))
      .addColumn('timestamp', 'integer', (c) => c.notNull())
      .addColumn('pnl', 'real', (c) => c.notNull())
      .addPrimaryKeyConstraint('oos_trades_pk', ['request_id', 'timestamp'])
      // Small rows keyed by (request, time): clustering on the key saves a second B-tree.
      .modifyEnd(sql`without rowid, strict`),
  ],
};

const failuresAndDeadLetters: Migration = {
  version: 3,
  name: 'dead letters, failure events, supervisor events',
  up: (db) => [
    db.schema
      .createTable('dead_letters')
      // AUTOINCREMENT: operators refer to dead letters by id, so an id is never reused.
      .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('message', 'text', (c) => c.notNull().check(jsonText('message')))
      .addColumn('error', 'text', (c) => c.notNull())
      .addColumn('stack', 'text')
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('first_failed_at', 'integer', (c) => c.notNull())
      .addColumn('last_failed_at', 'integer', (c) => c.notNull())
      .addColumn('traceparent', 'text')
      .addColumn('replay_count', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('state', 'text', (c) => c.notNull().defaultTo('dead').check(oneOf('state', DEAD_LETTER_STATES)))
      .addColumn('request_id', 'text')
      .addColumn('resolved_at', 'integer')
      .addColumn('note', 'text')
      .modifyEnd(STRICT),
    db.schema.createIndex('dead_letters_source_state').on('dead_letters').columns(['source', 'state']),
    db.schema.createIndex('dead_letters_state').on('dead_letters').column('state'),
    db.schema
      .createIndex('dead_letters_request')
      .on('dead_letters')
      .column('request_id')
      .where(sql.ref('request_id'), 'is not', null),
    db.schema
      .createTable('failure_events')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('at', 'integer', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('request_id', 'text')
      .addColumn('detail', 'text')
      .modifyEnd(STRICT),
    db.schema.createIndex('failure_events_at').on('failure_events').column('at'),
    db.schema
      .createTable('supervisor_events')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('at', 'integer', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('path', 'text', (c) => c.notNull())
      .addColumn('child_id', 'text')
      .addColumn('detail', 'text')
      .modifyEnd(STRICT),
    db.schema.createIndex('supervisor_events_at').on('supervisor_events').column('at'),
  ],
};

/**
 * The attempt history keeps only finished attempts; the send in progress (or the one a result
 * completed) is described by the row's own columns and `sends`, the number of sends ever made.
 * Why: appending an open entry on every claim and closing it on every result cost two JSON
 * rewrites per request on the hot path; now JSON is written only when an attempt fails.
 */
const sendsCounter: Migration = {
  version: 4,
  name: 'outbox: sends counter, history of finished attempts only',
  up: (db) => [
    db.schema
      .alterTable('oos_requests')
      .addColumn('sends', 'integer', (c) => c.notNull().defaultTo(0).check(sql`sends >= 0`)),
    db.updateTable('oos_requests').set((eb) => ({ sends: eb.fn<number>('json_array_length', ['history']) })),
    // An in-flight row's last entry is its open attempt: it now lives in the columns.
    db
      .updateTable('oos_requests')
      .set((eb) => ({ history: eb.fn<string>('json_remove', ['history', sql.lit('$[#-1]')]) }))
      .where('state', '=', sql.lit('in_flight'))
      .where((eb) => eb(eb.fn('json_array_length', ['history']), '>', eb.lit(0)))
      .where(sql`json_extract(history, '$[#-1].outcome')`, 'is', null),
  ],
};

/**
 * A metric may be NaN (the engine can print `nan`), but a REAL column cannot hold NaN: SQLite
 * stores it as NULL, which already means "not reported" for the optional metrics. So a NaN metric
 * is stored as NULL and its column is named in `nan_metrics` (comma-separated column names, NULL
 * when none), which the read side turns back into NaN. +/-Infinity need nothing: REAL holds them.
 */
const nanMetrics: Migration = {
  version: 5,
  name: 'oos_results: nan_metrics names the metrics that were NaN',
  up: (db) => [db.schema.alterTable('oos_results').addColumn('nan_metrics', 'text')],
};

/**
 * Retention (persistence/retention.ts) deletes finished requests, results and events past a
 * configured age. The summary of each day it passes is kept in `daily_summaries` first, so the
 * daily figures outlive their rows. Finished requests are found by completion time through a
 * partial index: only completed rows are in it, so the hot path's enqueues add nothing to it.
 */
const retention: Migration = {
  version: 6,
  name: 'retention: stored daily summaries, completed requests by time',
  up: (db) => [
    db.schema
      .createTable('daily_summaries')
      .addColumn('day_start', 'integer', (c) => c.primaryKey().notNull())
      .addColumn('day', 'text', (c) => c.notNull())
      .addColumn('summary', 'text', (c) => c.notNull().check(jsonText('summary')))
      .addColumn('made_at', 'integer', (c) => c.notNull())
      .modifyEnd(STRICT),
    db.schema
      .createIndex('oos_requests_completed')
      .on('oos_requests')
      .column('completed_at')
      .where(sql.ref('completed_at'), 'is not', null),
  ],
};

/**
 * Bridge mode (`shoal start --bridge`): requests the host sends are kept under its own ids with
 * `origin` host; a newer host request for a strategy supersedes its older live one (state
 * `superseded`, `superseded_by`), which a CHECK change needs a rebuild of oos_requests for (its
 * indexes are made again as they were); results to hand to the host wait in `host_forwards`.
 */
const REQUESTS_V7 = 'oos_requests_v7';
const bridge: Migration = {
  version: 7,
  name: 'bridge: request origin, superseded requests, host forwards',
  rebuildsTables: true,
  up: (db) => [
    db.schema
      .createTable(REQUESTS_V7)
      .addColumn('request_id', 'text', (c) => c.primaryKey().notNull())
      .addColumn('strategy_name', 'text', (c) => c.notNull().references('strategies.name'))
      .addColumn('payload', 'text', (c) => c.notNull().check(jsonText('payload')))
      .addColumn('state', 'text', (c) => c.notNull().check(oneOf('state', REQUEST_STATES)))
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0).check(sql`attempts >= 0`))
      .addColumn('next_attempt_at', 'integer', (c) => c.notNull())
      .addColumn('lease_until', 'integer')
      .addColumn('traceparent', 'text')
      .addColumn('enqueued_at', 'integer', (c) => c.notNull())
      .addColumn('first_sent_at', 'integer')
      .addColumn('last_sent_at', 'integer')
      .addColumn('completed_at', 'integer')
      .addColumn('last_error', 'text')
      .addColumn('history', 'text', (c) => c.notNull().defaultTo('[]').check(jsonText('history')))
      .addColumn('sends', 'integer', (c) => c.notNull().defaultTo(0).check(sql`sends >= 0`))
      .addColumn('origin', 'text', (c) => c.notNull().defaultTo('local').check(oneOf('origin', REQUEST_ORIGINS)))
      .addColumn('superseded_by', 'text')
      .modifyEnd(STRICT),
    compilable(db, sql`insert into ${sql.table(REQUESTS_V7)} (request_id, strategy_name, payload, state, attempts, next_attempt_at, lease_until, traceparent, enqueued_at, first_sent_at, last_sent_at, completed_at, last_error, history, sends)
        select request_id, strategy_name, payload, state, attempts, next_attempt_at, lease_until, traceparent, enqueued_at, first_sent_at, last_sent_at, completed_at, last_error, history, sends from oos_requests`),
    db.schema.dropTable('oos_requests'),
    db.schema.alterTable(REQUESTS_V7).renameTo('oos_requests'),
    db.schema
      .createIndex('oos_requests_one_live')
      .on('oos_requests')
      .column('strategy_name')
      .unique()
      .where(sql.ref('state'), 'in', ['pending', 'in_flight']),
    db.schema
      .createIndex('oos_requests_due')
      .on('oos_requests')
      .columns(['next_attempt_at', 'request_id'])
      .where(sql.ref('state'), '=', 'pending'),
    db.schema
      .createIndex('oos_requests_lease')
      .on('oos_requests')
      .columns(['lease_until', 'request_id'])
      .where(sql.ref('state'), '=', 'in_flight'),
    db.schema
      .createIndex('oos_requests_completed')
      .on('oos_requests')
      .column('completed_at')
      .where(sql.ref('completed_at'), 'is not', null),
    db.schema
      .createTable('host_forwards')
      // Cascade: retention deletes a finished request with its forward (long forwarded or dead by then).
      .addColumn('request_id', 'text', (c) => c.primaryKey().notNull().references('oos_requests.request_id').onDelete('cascade'))
      .addColumn('state', 'text', (c) => c.notNull().check(oneOf('state', HOST_FORWARD_STATES)))
      .addColumn('frame', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0).check(sql`attempts >= 0`))
      .addColumn('first_at', 'integer', (c) => c.notNull())
      .addColumn('last_at', 'integer')
      .addColumn('forwarded_at', 'integer')
      .addColumn('last_error', 'text')
      .modifyEnd(STRICT),
    // The forwarder walks the pending ones oldest first; forwarded rows stay out of the index.
    db.schema
      .createIndex('host_forwards_pending')
      .on('host_forwards')
      .columns(['first_at', 'request_id'])
      .where(sql.ref('state'), '=', 'pending'),
  ],
};

/**
 * Alerts that cannot be lost (actors/notifier.ts): each alert is a row before it is sent, with one
 * delivery row per configured webhook that carries its own state, attempts and next try. Pending
 * deliveries are found through a partial index, so sent ones cost the notifier's scan nothing;
 * deduplication looks alerts up by kind, key and time.
 */
const alerts: Migration = {
  version: 8,
  name: 'alerts and their deliveries per webhook',
  up: (db) => [
    db.schema
      .createTable('alerts')
      .addColumn('id', 'text', (c) => c.primaryKey().notNull())
      .addColumn('kind', 'text', (c) => c.notNull().check(oneOf('kind', ALERT_KIND_NAMES)))
      .addColumn('dedup_key', 'text', (c) => c.notNull())
      .addColumn('severity', 'text', (c) => c.notNull().check(oneOf('severity', SEVERITIES)))
      .addColumn('payload', 'text', (c) => c.notNull().check(jsonText('payload')))
      .addColumn('created_at', 'integer', (c) => c.notNull())
      .addColumn('repeats', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('last_repeat_at', 'integer')
      .modifyEnd(STRICT),
    db.schema.createIndex('alerts_dedup').on('alerts').columns(['kind', 'dedup_key', 'created_at']),
    db.schema.createIndex('alerts_created').on('alerts').column('created_at'),
    db.schema
      .createTable('alert_deliveries')
      .addColumn('alert_id', 'text', (c) => c.notNull().references('alerts.id').onDelete('cascade'))
      .addColumn('target', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull().check(oneOf('state', DELIVERY_STATES)))
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0).check(sql`attempts >= 0`))
      .addColumn('next_attempt_at', 'integer', (c) => c.notNull())
      .addColumn('last_error', 'text')
      .addColumn('last_status', 'integer')
      .addColumn('finished_at', 'integer')
      .addPrimaryKeyConstraint('alert_deliveries_pk', ['alert_id', 'target'])
      .modifyEnd(sql`without rowid, strict`),
    db.schema
      .createIndex('alert_deliveries_due')
      .on('alert_deliveries')
      .columns(['next_attempt_at', 'alert_id'])
      .where(sql.ref('state'), '=', 'pending'),
  ],
};

/**
 * Counting the outbox by state (`shoal status`, the metrics' gauges at every scrape) scanned the
 * whole table, payloads included: 9.4 ms at 20,000 rows, growing with the history kept. Finished
 * requests are counted over this index instead, live ones over the due and lease indexes. It is
 * partial on purpose: a full index on state took the claim's and the lease scan's queries away from
 * their ordered partial indexes (a sort of every pending row per claim, +40 % CPU per round trip),
 * and a row enters it once, when it finishes, not at every state change.
 */
const finishedIndex: Migration = {
  version: 9,
  name: 'outbox index of finished requests by state',
  up: (db) => [db.schema.createIndex('oos_requests_finished').on('oos_requests').column('state').where(sql.ref('state'), 'not in', ['pending', 'in_flight'])],
};

export { assertSchemaSupported, readSchemaVersion, SchemaVersionError } from './schema-version.ts';

export const MIGRATIONS: readonly Migration[] = [strategiesAndRanks, outbox, failuresAndDeadLetters, sendsCounter, nanMetrics, retention, bridge, alerts, finishedIndex];

export function latestVersion(migrations: readonly Migration[] = MIGRATIONS): number {
  return migrations.reduce((max, m) => Math.max(max, m.version), 0);
}


/**
 * Applies the migrations above the database's version, in order. Idempotent: the version is
 * re-read under the write lock, so a second opener (or a second process) does nothing.
 */
export function migrate(
  sqlite: Database,
  db: Kysely<Schema>,
  migrations: readonly Migration[] = MIGRATIONS,
): { from: number; to: number } {
  const ordered = [...migrations].sort((a, b) => a.version - b.version);
  const from = readSchemaVersion(sqlite);
  for (const m of ordered) {
    if (readSchemaVersion(sqlite) >= m.version) continue;
    // The pragma is a no-op inside a transaction, so it is set around it.
    const foreignKeys = sqlite.pragma('foreign_keys', { simple: true }) === 1;
    if (m.rebuildsTables && foreignKeys) sqlite.pragma('foreign_keys = OFF');
    try {
      migrateOne(sqlite, db, m);
    } finally {
      if (m.rebuildsTables && foreignKeys) sqlite.pragma('foreign_keys = ON');
    }
  }
  return { from, to: readSchemaVersion(sqlite) };
}

function migrateOne(sqlite: Database, db: Kysely<Schema>, m: Migration): void {
  {
    sqlite
      .transaction(() => {
        const current = readSchemaVersion(sqlite);
        if (current >= m.version) return;
        if (current !== m.version - 1) {
          throw new Error(`migration ${m.version} (${m.name}) cannot run on schema version ${current}: a migration is missing`);
        }
        for (const statement of m.up(db)) {
          const compiled = statement.compile();
          sqlite.prepare(compiled.sql).run(compiled.parameters as unknown[]);
        }
        if (m.rebuildsTables) {
          const broken = sqlite.pragma('foreign_key_check') as { table: string; parent: string }[];
          if (broken.length > 0) throw new Error(`migration ${m.version} (${m.name}) would break ${broken.length} foreign key(s), e.g. ${broken[0].table} -> ${broken[0].parent}`);
        }
        // user_version lives in the file header and commits with the DDL above.
        sqlite.pragma(`user_version = ${m.version}`);
      })
      .immediate();
  }
}
