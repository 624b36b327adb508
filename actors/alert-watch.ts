/**
 * alert-watch: looks at the store on a period and raises the alerts that come from a state rather
 * than an event (domain/alerts.ts decides): more dead letters waiting than the threshold, and the
 * backtest service silent while requests wait. The notifier deduplicates, so a state that lasts
 * is alerted once per deduplication window, not once per look.
 */
import { kindGuard, type ActorPath } from '../runtime/index.ts';
import type { TimerHandle } from '../runtime/clock.ts';
import type { ActorDefinition } from '../supervisors/index.ts';
import { openStore, type Store } from '../persistence/connection.ts';
import { countDeadLettersByState } from '../persistence/dead-letters.ts';
import { countInFlight, oldestLiveEnqueuedAt } from '../persistence/outbox-reads.ts';
import { deadLettersAlert, serviceSilentAlert, type AlertInput } from '../domain/alerts.ts';
import { raiseAlert, type NotifierMessage } from './notifier.ts';

export type AlertWatchMessage = { readonly kind: 'look' };

export const isAlertWatchMessage = kindGuard<AlertWatchMessage>({ look: true });

export interface AlertWatchConfig {
  readonly dbPath: string;
  readonly notifierPath: ActorPath<NotifierMessage>;
  readonly deadLetterThreshold: number;
  readonly serviceSilentMs: number;
  /** Named in the service_silent alert (and its key). */
  readonly endpoint: string;
  /** When the last result frame arrived (the result handler's counters). */
  readonly lastResultAt: () => number | undefined;
  /** Default 60 s. */
  readonly intervalMs?: number;
}

export class AlertWatchStats {
  looks = 0;
  raised = 0;
  failures = 0;
  lastError: string | undefined;
}

interface WatchState {
  reader: Store | undefined;
  timer?: TimerHandle;
  /** No result before this is known: silence is counted from here at the earliest. */
  readonly startedAt: number;
}

/** The alerts the store's state calls for now. */
export function lookAtStore(store: Store, config: AlertWatchConfig, now: number, startedAt: number): AlertInput[] {
  const alerts: (AlertInput | undefined)[] = [
    deadLettersAlert(countDeadLettersByState(store).dead, config.deadLetterThreshold),
    serviceSilentAlert(
      { now, inFlight: countInFlight(store), oldestLiveSince: oldestLiveEnqueuedAt(store) ?? undefined, lastResultAt: config.lastResultAt() ?? startedAt },
      config.serviceSilentMs,
      config.endpoint,
    ),
  ];
  return alerts.filter((a): a is AlertInput => a !== undefined);
}

export function alertWatch(config: AlertWatchConfig, stats = new AlertWatchStats()): ActorDefinition<WatchState, AlertWatchMessage> {
  const intervalMs = config.intervalMs ?? 60_000;
  return {
    accepts: isAlertWatchMessage,
    init: (ctx) => {
      const state: WatchState = { reader: undefined, startedAt: ctx.clock.now() };
      state.timer = ctx.clock.setTimeout(() => ctx.self.tell({ kind: 'look' }), intervalMs);
      return state;
    },
    receive: (state, _msg, ctx) => {
      try {
        state.reader ??= openStore({ path: config.dbPath, readonly: true });
        stats.looks++;
        for (const alert of lookAtStore(state.reader, config, ctx.clock.now(), state.startedAt)) {
          raiseAlert(ctx.system, config.notifierPath, alert);
          stats.raised++;
        }
      } catch (e) {
        // A store that cannot be read now may be readable at the next look; the count shows it.
        stats.failures++;
        stats.lastError = `alert watch: ${(e as Error).message}`;
      }
      state.timer = ctx.clock.setTimeout(() => ctx.self.tell({ kind: 'look' }), intervalMs);
      return state;
    },
    onStop: (state, _reason, ctx) => {
      if (state.timer) ctx.clock.clearTimeout(state.timer);
      state.reader?.close();
    },
  };
}
