/**
 * Shared SQL pieces. State constants are inlined as literals, not bound as parameters, because
 * SQLite only uses a partial index (`WHERE state = 'pending'`) when the query's WHERE clause
 * contains the same literal term.
 */
import { sql, type RawBuilder } from 'kysely';
import type { DeadLetterState, RequestState } from './schema.ts';

export function requestState(state: RequestState): RawBuilder<RequestState> {
  return sql.lit(state) as RawBuilder<RequestState>;
}

export function letterState(state: DeadLetterState): RawBuilder<DeadLetterState> {
  return sql.lit(state) as RawBuilder<DeadLetterState>;
}

export const PENDING = requestState('pending');
export const IN_FLIGHT = requestState('in_flight');
export const DONE = requestState('done');
export const DEAD = requestState('dead');
export const SUPERSEDED = requestState('superseded');
/** The states the one-live-request-per-strategy index covers. */
export const LIVE = [PENDING, IN_FLIGHT];

/** A JSON path as an inline literal. */
export function jsonPath(path: string): RawBuilder<string> {
  return sql.lit(path) as RawBuilder<string>;
}

export function text(value: string): RawBuilder<string> {
  return sql.lit(value) as RawBuilder<string>;
}

/** Rejects anything that is not a finite integer (times, counts, limits) with the field named. */
export function requireInteger(context: string, field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new TypeError(`${context}: ${field} must be an integer, got ${String(value)}`);
  return value;
}

export function requirePositiveInteger(context: string, field: string, value: unknown): number {
  const n = requireInteger(context, field, value);
  if (n <= 0) throw new RangeError(`${context}: ${field} must be > 0, got ${n}`);
  return n;
}

export function requireText(context: string, field: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw new TypeError(`${context}: ${field} must be a non-empty string`);
  return value;
}
