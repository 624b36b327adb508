/**
 * The registry of write commands: every command the store takes, listed once. Each command is
 * defined beside its table (its type, apply and description: a `CommandSpec`, command.ts); from
 * this list come the `WriteCommand` union, each command's outcome type, and the dispatch by type
 * that the batch executor (batch.ts) runs. Adding a command: define it in its table's module and
 * add it to WRITE_COMMANDS.
 */
import type { BatchScope, CommandSpec } from './command.ts';
import type { Store } from './connection.ts';
import { setCursorSpec } from './cursors.ts';
import { claimAlertDeliverySpec, finishAlertDeliverySpec, raiseAlertSpec } from './alerts.ts';
import {
  claimDeadLettersForReplaySpec,
  deadLetterReleasedSpec,
  deadLetterReplayedSpec,
  deadLetterReturnedSpec,
  discardDeadLetterSpec,
  insertDeadLetterSpec,
} from './dead-letters.ts';
import { recordFailureSpec, recordSupervisorEventSpec } from './events.ts';
import { claimDueSpec, deadLetterRequestSpec, enqueueRequestSpec, expiredLeasesSpec, rebaseDeadlinesSpec, releaseClaimSpec, requeueRequestSpec, retryRequestSpec } from './outbox.ts';
import { deadForwardSpec, forwardFailedSpec, forwardsHandedOffSpec, forwardsReopenedSpec, reviveForwardSpec } from './host-forwards.ts';
import { applyResultSpec } from './results.ts';
import { pruneBeforeSpec, storeDailySummarySpec } from './retention.ts';
import { changeRankSpec, ensureStrategySpec, strategyChangeSequence, upsertStrategySpec } from './strategies.ts';

export const WRITE_COMMANDS = [
  // the request outbox (outbox.ts)
  enqueueRequestSpec,
  claimDueSpec,
  releaseClaimSpec,
  requeueRequestSpec,
  expiredLeasesSpec,
  rebaseDeadlinesSpec,
  retryRequestSpec,
  deadLetterRequestSpec,
  // results (results.ts)
  applyResultSpec,
  // failure and supervisor events (events.ts)
  recordFailureSpec,
  recordSupervisorEventSpec,
  // dead letters (dead-letters.ts)
  insertDeadLetterSpec,
  deadLetterReplayedSpec,
  deadLetterReturnedSpec,
  deadLetterReleasedSpec,
  discardDeadLetterSpec,
  claimDeadLettersForReplaySpec,
  // strategies (strategies.ts)
  upsertStrategySpec,
  changeRankSpec,
  ensureStrategySpec,
  // cursors (cursors.ts)
  setCursorSpec,
  // retention (retention.ts)
  storeDailySummarySpec,
  pruneBeforeSpec,
  // bridge mode's forwards to the host (host-forwards.ts)
  forwardsHandedOffSpec,
  forwardFailedSpec,
  forwardsReopenedSpec,
  deadForwardSpec,
  reviveForwardSpec,
  // alerts (alerts.ts)
  raiseAlertSpec,
  claimAlertDeliverySpec,
  finishAlertDeliverySpec,
] as const;

/** What every write transaction does around its commands, whichever they are. */
export const BATCH_SCOPES: readonly BatchScope[] = [strategyChangeSequence];

type Spec = (typeof WRITE_COMMANDS)[number];
type CommandOfSpec<S> = S extends CommandSpec<infer C, unknown> ? C : never;

export type WriteCommand = CommandOfSpec<Spec>;
export type CommandType = WriteCommand['type'];
/** Each command type's outcomes (a command failing on its own data gives CommandFailed instead). */
export type OutcomeMap = { [S in Spec as S['type']]: ReturnType<S['apply']> };

/** A command that failed on its own; it was rolled back to its savepoint, the batch went on. */
export interface CommandFailed {
  type: CommandType;
  status: 'error';
  /** Names the command and its key (request id, strategy, table) and the cause. */
  error: string;
  sqliteCode?: string;
}

export type OutcomeOf<C extends WriteCommand> = OutcomeMap[C['type']] | CommandFailed;
export type CommandOutcome = OutcomeMap[CommandType] | CommandFailed;

const specs = new Map<string, CommandSpec<WriteCommand, OutcomeMap[CommandType]>>();
for (const spec of WRITE_COMMANDS) {
  if (specs.has(spec.type)) throw new Error(`write command '${spec.type}' is registered twice`);
  specs.set(spec.type, spec);
}

/** One line naming a command, its main table and key, for error messages. */
export function describeCommand(c: WriteCommand): string {
  return specs.get(c.type)?.describe(c) ?? `unknown write command type ${String(c.type)}`;
}

/** Applies one command inside the caller's transaction, at the batch's time `now`. */
export function applyCommand(store: Store, c: WriteCommand, now: number): OutcomeMap[CommandType] {
  const spec = specs.get(c.type);
  if (spec === undefined) throw new TypeError(`unknown write command type ${String(c.type)}`);
  return spec.apply(store, c, now);
}
