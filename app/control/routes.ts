/**
 * The control endpoint's routes over a running Shoal, as data (the server is control/server.ts).
 * Reads come from the runtime itself (the tree, its counters) and from its store; mutations go
 * through the actors (the replayer, the sender, the db-writer), so they take effect at once.
 */
import { countDeadLettersByState, getDeadLetter, listDeadLetters } from '../../persistence/dead-letters.ts';
import { DEAD_LETTER_STATES, REQUEST_STATES, type DeadLetterState, type RequestState } from '../../persistence/schema.ts';
import type { Store } from '../../persistence/connection.ts';
import { countAtReplayCap, lastSupervisorEvents, queueView } from '../../persistence/operator-reads.ts';
import { requestTimes, restartsSince } from '../../persistence/flow-metrics.ts';
import { whyNotReplayable } from '../../persistence/replayability.ts';
import { flowMetrics } from '../../domain/flow-metrics.ts';
import { DAY_MS } from '../../domain/daily-summary.ts';
import { defaultReplayPolicy } from '../../actors/replayer.ts';
import type { Shoal } from '../shoal.ts';
import { HttpError, type ControlStats, type Route } from './server.ts';

export interface RouteDeps {
  readonly shoal: Shoal;
  /** A read-only connection of the endpoint's own. */
  readonly reader: Store;
  readonly stats: ControlStats;
  /** Where the endpoint listens, for /v1/status. */
  readonly address: () => { url?: string; socket?: string };
}

/** The default period of /v1/metrics: "live" is the last few minutes. */
export const LIVE_WINDOW_MS = 5 * 60_000;
/** Claimed per replay call at most; the replayer delivers them at its own rate. */
const REPLAY_LIMIT = 10_000;

/** An actor that is not running (restarting, or stopped by a drain) is "try again", not a failure of the endpoint. */
function unavailable(e: unknown): never {
  const message = (e as Error).message;
  if (/is not running/.test(message)) throw new HttpError(503, 'unavailable', message);
  throw e;
}

function bad(message: string): HttpError {
  return new HttpError(400, 'bad_request', message);
}

/** A whole number query parameter within [min, max], or the default. */
export function intParam(query: URLSearchParams, name: string, fallback: number, min: number, max: number): number {
  const text = query.get(name);
  if (text === null) return fallback;
  const n = Number(text);
  if (text.trim() === '' || !Number.isSafeInteger(n) || n < min || n > max) throw bad(`${name} must be a whole number from ${min} to ${max}, got '${text}'`);
  return n;
}

function choice<T extends string>(query: URLSearchParams, name: string, values: readonly T[]): T | undefined {
  const v = query.get(name);
  if (v === null) return undefined;
  if (!values.includes(v as T)) throw bad(`${name} must be one of ${values.join(', ')}, got '${v}'`);
  return v as T;
}

function letterId(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n <= 0) throw bad(`a dead letter id is a positive whole number, got '${text}'`);
  return n;
}

function record(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw bad('the request body must be a JSON object');
  return body as Record<string, unknown>;
}

/** The body of a replay: ids, or a source, or all; optionally a raised cap. */
export function replayBody(body: unknown): { ids?: number[]; source?: string; all: boolean; maxReplays?: number } {
  const b = record(body);
  const unknown = Object.keys(b).filter((k) => !['ids', 'source', 'all', 'maxReplays'].includes(k));
  if (unknown.length > 0) throw bad(`unknown field '${unknown[0]}' (known: ids, source, all, maxReplays)`);
  const ids = b.ids;
  if (ids !== undefined && !(Array.isArray(ids) && ids.length > 0 && ids.every((i) => Number.isSafeInteger(i) && (i as number) > 0))) throw bad('ids must be a non-empty array of positive whole numbers');
  if (b.source !== undefined && (typeof b.source !== 'string' || b.source === '')) throw bad('source must be an actor path');
  if (b.all !== undefined && typeof b.all !== 'boolean') throw bad('all must be true or false');
  if (b.maxReplays !== undefined && !(Number.isSafeInteger(b.maxReplays) && (b.maxReplays as number) >= 1)) throw bad('maxReplays must be a whole number >= 1');
  if (ids === undefined && b.source === undefined && b.all !== true) throw bad('a replay needs ids, a source or all: true');
  return {
    ...(ids !== undefined ? { ids: ids as number[] } : {}),
    ...(b.source !== undefined ? { source: b.source as string } : {}),
    all: b.all === true,
    ...(b.maxReplays !== undefined ? { maxReplays: b.maxReplays as number } : {}),
  };
}

export function oosControlRoutes(deps: RouteDeps): Route[] {
  const { shoal, reader } = deps;
  const now = () => shoal.system.clock.now();
  const sending = () => ({ paused: shoal.stats.sender.paused, pausedAt: shoal.stats.sender.pausedAt, peers: shoal.stats.sender.peers });
  const maxReplaysDefault = () => shoal.config.replay.maxReplays ?? defaultReplayPolicy.maxReplays;

  return [
    {
      method: 'GET',
      path: '/v1/tree',
      access: 'read',
      handle: () => ({ at: now(), pid: process.pid, sending: sending(), tree: shoal.snapshot() }),
    },
    {
      method: 'GET',
      path: '/v1/status',
      access: 'read',
      handle: () => {
        const s = shoal.status();
        const t = now();
        return {
          up: s.running,
          pid: s.pid,
          startedAt: s.startedAt,
          uptimeMs: s.uptimeMs,
          dbPath: shoal.config.dbPath,
          outbox: s.outbox,
          inFlight: s.outbox.in_flight,
          oldestPendingAgeMs: s.oldestLiveAgeMs,
          deadLetters: countDeadLettersByState(reader),
          restarts: s.restarts,
          restartsToday: restartsSince(reader, t - (t % DAY_MS)),
          sending: sending(),
          control: deps.address(),
        };
      },
    },
    {
      method: 'GET',
      path: '/v1/queue',
      access: 'read',
      handle: ({ query }) => queueView(reader, choice<RequestState>(query, 'state', REQUEST_STATES), intParam(query, 'limit', 20, 1, 10_000)),
    },
    {
      method: 'GET',
      path: '/v1/dead-letters',
      access: 'read',
      handle: ({ query }) =>
        listDeadLetters(reader, {
          state: choice<DeadLetterState>(query, 'state', DEAD_LETTER_STATES) ?? 'dead',
          source: query.get('source') ?? undefined,
          requestId: query.get('request') ?? undefined,
          limit: intParam(query, 'limit', 50, 1, 10_000),
        }),
    },
    {
      method: 'GET',
      path: '/v1/dead-letters/:id',
      access: 'read',
      handle: ({ params }) => {
        const id = letterId(params.id);
        const letter = getDeadLetter(reader, id);
        if (!letter) throw new HttpError(404, 'no_such_letter', `no dead letter ${id}`);
        return letter;
      },
    },
    {
      method: 'POST',
      path: '/v1/dead-letters/replay',
      access: 'write',
      handle: async ({ body }) => {
        const r = replayBody(body);
        const maxReplays = r.maxReplays ?? maxReplaysDefault();
        const refused = (r.ids ?? []).flatMap((id) => {
          const why = whyNotReplayable(id, getDeadLetter(reader, id), maxReplays);
          return why ? [{ id, why }] : [];
        });
        const claimable = r.ids?.filter((id) => !refused.some((x) => x.id === id));
        const atCap = r.ids === undefined ? countAtReplayCap(reader, r.source, maxReplays) : 0;
        if (claimable !== undefined && claimable.length === 0) return { claimed: 0, ids: [], refused, atCap, maxReplays };
        const report = await shoal.replay({ ids: claimable, source: r.source, maxReplays, limit: REPLAY_LIMIT }).catch(unavailable);
        return { claimed: report.claimed, ids: report.ids, refused, atCap, maxReplays };
      },
    },
    {
      method: 'POST',
      path: '/v1/dead-letters/:id/discard',
      access: 'write',
      handle: async ({ params, body }) => {
        const id = letterId(params.id);
        const b = record(body);
        if (b.reason !== undefined && typeof b.reason !== 'string') throw bad('reason must be a string');
        if (await shoal.discard(id, b.reason as string | undefined).catch(unavailable)) return { id, discarded: true };
        const letter = getDeadLetter(reader, id);
        if (!letter) throw new HttpError(404, 'no_such_letter', `no dead letter ${id}`);
        throw new HttpError(409, 'not_discardable', `dead letter ${id} is ${letter.state}; only a dead letter can be discarded`);
      },
    },
    { method: 'POST', path: '/v1/sending/pause', access: 'write', handle: () => shoal.pauseSending().catch(unavailable) },
    { method: 'POST', path: '/v1/sending/resume', access: 'write', handle: () => shoal.resumeSending().catch(unavailable) },
    {
      method: 'GET',
      path: '/v1/metrics',
      access: 'read',
      handle: ({ query }) => {
        const to = now();
        const windowMs = intParam(query, 'windowMs', LIVE_WINDOW_MS, 1_000, 366 * DAY_MS);
        const { writer, sender, results, gate, janitor } = shoal.stats;
        return {
          flow: flowMetrics(requestTimes(reader, to - windowMs, to), to - windowMs, to),
          runtime: { sender: { ...sender }, results: { ...results }, writer: { ...writer }, gate: { ...gate }, janitor: { ...janitor }, deadLetters: shoal.system.stats },
          control: { ...deps.stats, byStatus: { ...deps.stats.byStatus } },
        };
      },
    },
    {
      method: 'GET',
      path: '/v1/events',
      access: 'read',
      handle: ({ query }) => lastSupervisorEvents(reader, intParam(query, 'limit', 20, 1, 1_000)),
    },
  ];
}
