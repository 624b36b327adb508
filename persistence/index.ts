/**
 * The storage layer's public surface. Writes go through `applyBatch` (group commit of
 * WriteCommands); reads are plain functions that any connection may call.
 */
export { openStore, checkpoint } from './connection.ts';
export type { Store, StoreOptions, SynchronousMode, CheckpointMode, CheckpointResult } from './connection.ts';
export { MIGRATIONS, SchemaVersionError, latestVersion, readSchemaVersion } from './migrations.ts';
export type { Migration } from './migrations.ts';
export { StoreError } from './errors.ts';
export type { StoreErrorCode } from './errors.ts';
export { applyBatch, applyOne } from './batch.ts';
export { describeCommand } from './commands.ts';
export type { WriteCommand, CommandType, CommandOutcome, CommandFailed, OutcomeOf, OutcomeMap } from './commands.ts';
export type { CommandSpec } from './command.ts';
export type * from './records.ts';
export type * from './schema.ts';
export { RANKS, ARCHIVED_RANKS, REQUEST_STATES, DEAD_LETTER_STATES } from './schema.ts';
export { getRequest, listRequests, countByState, listExpiredLeases } from './outbox.ts';
export type * from './outbox.ts';
export { getResult } from './results.ts';
export type * from './results.ts';
export { getDeadLetter, listDeadLetters } from './dead-letters.ts';
export type * from './dead-letters.ts';
export { getStrategy, readStrategiesChangedSince, readStrategiesChangedUpTo, readAllStrategies } from './strategies.ts';
export type * from './strategies.ts';
export { getCursor } from './cursors.ts';
export type * from './cursors.ts';
export { failureCountsByDay, failureEventsSince, supervisorEventsSince, DAY_MS } from './events.ts';
export type * from './events.ts';
export { uuidv7Time, UuidV7Generator, pooledRandom } from './uuidv7.ts';
export type { RandomSource } from './uuidv7.ts';
export { prepared, param, perConnection } from './prepared.ts';
export type { PreparedQuery } from './prepared.ts';
export { retentionHorizon, storedDailySummary, earliestActivity, RETENTION_HORIZON } from './retention.ts';
export type * from './retention.ts';
export { backupDatabase, BackupError } from './backup.ts';
export type { BackupReport, BackupOptions } from './backup.ts';
