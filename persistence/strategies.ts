/**
 * Strategy rows and their change sequence. Every statement that writes a strategy row sets
 * `change_seq` to the next value of the global `strategy_change` sequence, inside the caller's
 * write batch: writers are serialised by BEGIN IMMEDIATE, so values are unique and grow in commit
 * order, and an incremental reader that remembers the highest change_seq it has seen never misses
 * a write. The sequence row is read at a batch's first strategy write and written back once
 * before the commit (ChangeSequence), not bumped per row. All strategy writes live in this module.
 */
import type { Selectable } from 'kysely';
import type { BatchScope, CommandSpec } from './command.ts';
import type { Store } from './connection.ts';
import { perConnection, prepared } from './prepared.ts';
import { toStrategy, type StrategyRecord } from './records.ts';
import { ARCHIVED_RANKS, RANKS, type Rank, type StrategiesTable } from './schema.ts';
import { requireInteger, requirePositiveInteger, requireText, text } from './sql-helpers.ts';

// Commands ---------------------------------------------------------------------------------------

export interface StrategyInput {
  name: string;
  symbol: string;
  /** Minutes. */
  timeframe: number;
  direction: string;
  indicatorType: string;
  params: Readonly<Record<string, unknown>>;
  volume: number;
  sl?: number | null;
  tp?: number | null;
  sharpe?: number | null;
  profitFactor?: number | null;
  /** Fraction 0..1. */
  winRate?: number | null;
  trades?: number | null;
  maxDd?: number | null;
  cpcvPassRate?: number | null;
  cpcvMedianDd?: number | null;
  /** Rank of a new strategy (default INCUBATOR). Ignored for an existing one unless forced: ranks move by changeRank. */
  rank?: Rank;
}

/**
 * Inserts or updates a strategy's definition and in-sample metrics (an absent optional field
 * keeps its stored value on update). Never touches OOS metrics. An archived strategy
 * (GRAVEYARD/RETIRED) is left alone unless `force`; a forced upsert may also set its rank.
 */
export interface UpsertStrategyCommand {
  type: 'upsertStrategy';
  strategy: StrategyInput;
  force?: boolean;
}

/**
 * Inserts a strategy unless one of that name exists, which is then left as it is (bridge mode:
 * a request of the host names a strategy this store may not know yet).
 */
export interface EnsureStrategyCommand {
  type: 'ensureStrategy';
  strategy: StrategyInput;
}

/** Moves a strategy from `expectedFrom` to `to`; does nothing if its rank is not `expectedFrom`. */
export interface ChangeRankCommand {
  type: 'changeRank';
  name: string;
  expectedFrom: Rank;
  to: Rank;
  reason: string;
  metrics: Readonly<Record<string, unknown>>;
}

export type UpsertStrategyOutcome =
  | { type: 'upsertStrategy'; status: 'inserted' | 'updated'; name: string; changeSeq: number }
  | { type: 'upsertStrategy'; status: 'archived'; name: string; rank: Rank };

export type EnsureStrategyOutcome = { type: 'ensureStrategy'; status: 'inserted' | 'exists'; name: string };

export type ChangeRankOutcome =
  | { type: 'changeRank'; status: 'changed'; name: string; from: Rank; to: Rank; changeSeq: number }
  | { type: 'changeRank'; status: 'conflict'; name: string; actual: Rank | null };

// Applying -------------------------------------------------------------------------------------

const SEQUENCE = text('strategy_change');

type Definition = {
  name: string;
  symbol: string;
  timeframe: number;
  direction: string;
  indicatorType: string;
  params: string;
  sl: number | null;
  tp: number | null;
  volume: number;
  sharpe: number | null;
  profitFactor: number | null;
  winRate: number | null;
  trades: number | null;
  maxDd: number | null;
  cpcvPassRate: number | null;
  cpcvMedianDd: number | null;
  rank: Rank;
  now: number;
  changeSeq: number;
};

type OosArgs = {
  name: string;
  requestId: string;
  enqueuedAt: number;
  sharpe: number;
  profitFactor: number;
  winRate: number;
  maxDd: number;
  trades: number;
  now: number;
  changeSeq: number;
};

const statements = perConnection(({ sqlite, db }: Store) => {
  const definitionColumns = ($: Definition) => ({
    symbol: $.symbol,
    timeframe: $.timeframe,
    direction: $.direction,
    indicator_type: $.indicatorType,
    params: $.params,
    sl: $.sl,
    tp: $.tp,
    volume: $.volume,
    sharpe: $.sharpe,
    profit_factor: $.profitFactor,
    win_rate: $.winRate,
    trades: $.trades,
    max_dd: $.maxDd,
    cpcv_pass_rate: $.cpcvPassRate,
    cpcv_median_dd: $.cpcvMedianDd,
    rank: $.rank,
    updated_at: $.now,
    change_seq: $.changeSeq,
  });
  return {
    get: prepared(sqlite, ($: { name: string }) => db.selectFrom('strategies').selectAll().where('name', '=', $.name)),
    insert: prepared(sqlite, ($: Definition) =>
      db.insertInto('strategies').values({ name: $.name, created_at: $.now, ...definitionColumns($) }),
    ),
    update: prepared(sqlite, ($: Definition) => db.updateTable('strategies').set(definitionColumns($)).where('name', '=', $.name)),
    readSequence: prepared(sqlite, () => db.selectFrom('sequences').select('value').where('name', '=', SEQUENCE)),
    writeSequence: prepared(sqlite, ($: { value: number }) => db.updateTable('sequences').set({ value: $.value }).where('name', '=', SEQUENCE)),
    changeRank: prepared(sqlite, ($: { name: string; from: Rank; to: Rank; now: number; changeSeq: number }) =>
      db
        .updateTable('strategies')
        .set({ rank: $.to, updated_at: $.now, change_seq: $.changeSeq })
        .where('name', '=', $.name)
        .where('rank', '=', $.from),
    ),
    insertHistory: prepared(sqlite, ($: { name: string; at: number; from: Rank | null; to: Rank; reason: string; metrics: string }) =>
      db
        .insertInto('rank_history')
        .values({ strategy_name: $.name, at: $.at, from_rank: $.from, to_rank: $.to, reason: $.reason, metrics: $.metrics }),
    ),
    // A result replaces the OOS metrics unless they come from a request enqueued later (a late
    // result of an old request must not overwrite a newer validation).
    setOos: prepared(sqlite, ($: OosArgs) =>
      db
        .updateTable('strategies')
        .set({
          oos_sharpe: $.sharpe,
          oos_profit_factor: $.profitFactor,
          oos_win_rate: $.winRate,
          oos_max_dd: $.maxDd,
          oos_trades: $.trades,
          oos_request_id: $.requestId,
          oos_completed_at: $.now,
          updated_at: $.now,
          change_seq: $.changeSeq,
        })
        .where('name', '=', $.name)
        .where((eb) =>
          eb.or([
            eb('oos_request_id', 'is', null),
            eb(
              eb.fn.coalesce(
                eb.selectFrom('oos_requests as r').select('r.enqueued_at').whereRef('r.request_id', '=', 'strategies.oos_request_id'),
                eb.lit(0),
              ),
              '<=',
              $.enqueuedAt,
            ),
          ]),
        ),
    ),
    changedSince: prepared(sqlite, ($: { seq: number; limit: number }) =>
      db.selectFrom('strategies').selectAll().where('change_seq', '>', $.seq).orderBy('change_seq').limit($.limit),
    ),
    page: prepared(sqlite, ($: { after: string; limit: number }) =>
      db.selectFrom('strategies').selectAll().where('name', '>', $.after).orderBy('name').limit($.limit),
    ),
  };
});

/**
 * The strategy_change sequence during one write batch: read at the batch's first strategy write,
 * advanced in memory, written back by `flush` before the commit. A number taken by a command that
 * is then rolled back (to its savepoint, or a row the write did not match) is simply skipped:
 * readers need unique, growing values, not contiguous ones.
 */
class ChangeSequence {
  private value: number | undefined;
  private dirty = false;
  constructor(private readonly store: Store) {}

  /** Forgets what it read: a new transaction must read the row again. */
  reset(): void {
    this.value = undefined;
    this.dirty = false;
  }

  next(): number {
    if (this.value === undefined) {
      const row = statements(this.store).readSequence.get({});
      if (!row) throw new Error('sequences: the strategy_change row is missing');
      this.value = row.value;
    }
    this.dirty = true;
    return ++this.value;
  }

  /** Gives back the number just taken when its write matched no row, so values stay contiguous. */
  giveBack(n: number): void {
    if (n === this.value) this.value--;
  }

  flush(): void {
    if (this.dirty && this.value !== undefined) statements(this.store).writeSequence.run({ value: this.value });
    this.dirty = false;
  }
}

const sequences = perConnection((store: Store) => new ChangeSequence(store));

/** The sequence's part in every write transaction: read afresh in each, written back before the commit. */
export const strategyChangeSequence: BatchScope = {
  begin: (store) => sequences(store).reset(),
  end: (store) => sequences(store).flush(),
};

function nextChangeSeq(store: Store): number {
  return sequences(store).next();
}

function giveBackChangeSeq(store: Store, n: number): void {
  sequences(store).giveBack(n);
}

function requireRank(context: string, field: string, value: unknown): Rank {
  if (!RANKS.includes(value as Rank)) throw new RangeError(`${context}: ${field} must be one of ${RANKS.join(', ')}, got ${String(value)}`);
  return value as Rank;
}

function optionalFraction(context: string, field: string, value: number | null | undefined): void {
  if (value !== undefined && value !== null && !(value >= 0 && value <= 1)) {
    throw new RangeError(`${context}: ${field} must be a fraction in 0..1, got ${value}`);
  }
}

/** The row's new definition: the input's fields, or the stored value where the input has none. */
function definition(input: StrategyInput, rank: Rank, now: number, changeSeq: number, old?: Selectable<StrategiesTable>): Definition {
  const keep = <T>(value: T | undefined, stored: T | undefined): T | null => (value !== undefined ? value : (stored ?? null));
  return {
    name: input.name,
    symbol: input.symbol,
    timeframe: input.timeframe,
    direction: input.direction,
    indicatorType: input.indicatorType,
    params: JSON.stringify(input.params),
    sl: keep(input.sl, old?.sl),
    tp: keep(input.tp, old?.tp),
    volume: input.volume,
    sharpe: keep(input.sharpe, old?.sharpe),
    profitFactor: keep(input.profitFactor, old?.profit_factor),
    winRate: keep(input.winRate, old?.win_rate),
    trades: keep(input.trades, old?.trades),
    maxDd: keep(input.maxDd, old?.max_dd),
    cpcvPassRate: keep(input.cpcvPassRate, old?.cpcv_pass_rate),
    cpcvMedianDd: keep(input.cpcvMedianDd, old?.cpcv_median_dd),
    rank,
    now,
    changeSeq,
  };
}

function upsertStrategy(store: Store, c: UpsertStrategyCommand, now: number): UpsertStrategyOutcome {
  const input = c.strategy;
  const context = `upsertStrategy name=${input?.name}`;
  requireText(context, 'name', input?.name);
  requireText(context, 'symbol', input.symbol);
  requireInteger(context, 'timeframe', input.timeframe);
  requireText(context, 'indicatorType', input.indicatorType);
  optionalFraction(context, 'winRate', input.winRate);
  if (input.rank !== undefined) requireRank(context, 'rank', input.rank);
  const s = statements(store);
  const old = s.get.get({ name: input.name });

  if (!old) {
    const rank = input.rank ?? 'INCUBATOR';
    const changeSeq = nextChangeSeq(store);
    s.insert.run(definition(input, rank, now, changeSeq));
    s.insertHistory.run({ name: input.name, at: now, from: null, to: rank, reason: 'created', metrics: '{}' });
    return { type: 'upsertStrategy', status: 'inserted', name: input.name, changeSeq };
  }
  if (ARCHIVED_RANKS.includes(old.rank) && c.force !== true) {
    return { type: 'upsertStrategy', status: 'archived', name: input.name, rank: old.rank };
  }
  const rank = c.force === true && input.rank !== undefined ? input.rank : old.rank;
  const changeSeq = nextChangeSeq(store);
  s.update.run(definition(input, rank, now, changeSeq, old));
  if (rank !== old.rank) {
    s.insertHistory.run({ name: input.name, at: now, from: old.rank, to: rank, reason: 'forced upsert', metrics: '{}' });
  }
  return { type: 'upsertStrategy', status: 'updated', name: input.name, changeSeq };
}

function changeRank(store: Store, c: ChangeRankCommand, now: number): ChangeRankOutcome {
  const context = `changeRank name=${c.name}`;
  requireText(context, 'name', c.name);
  requireRank(context, 'expectedFrom', c.expectedFrom);
  requireRank(context, 'to', c.to);
  requireText(context, 'reason', c.reason);
  const s = statements(store);
  const changeSeq = nextChangeSeq(store);
  if (s.changeRank.run({ name: c.name, from: c.expectedFrom, to: c.to, now, changeSeq }).changes === 0) {
    giveBackChangeSeq(store, changeSeq);
    return { type: 'changeRank', status: 'conflict', name: c.name, actual: s.get.get({ name: c.name })?.rank ?? null };
  }
  s.insertHistory.run({ name: c.name, at: now, from: c.expectedFrom, to: c.to, reason: c.reason, metrics: JSON.stringify(c.metrics ?? {}) });
  return { type: 'changeRank', status: 'changed', name: c.name, from: c.expectedFrom, to: c.to, changeSeq };
}

function ensureStrategy(store: Store, c: EnsureStrategyCommand, now: number): EnsureStrategyOutcome {
  const name = requireText('ensureStrategy', 'name', c.strategy?.name);
  if (statements(store).get.get({ name })) return { type: 'ensureStrategy', status: 'exists', name };
  upsertStrategy(store, { type: 'upsertStrategy', strategy: c.strategy }, now);
  return { type: 'ensureStrategy', status: 'inserted', name };
}

export const ensureStrategySpec: CommandSpec<EnsureStrategyCommand, EnsureStrategyOutcome> = {
  type: 'ensureStrategy',
  apply: ensureStrategy,
  describe: (c) => `ensureStrategy (strategies) name=${c.strategy?.name}`,
};
export const upsertStrategySpec: CommandSpec<UpsertStrategyCommand, UpsertStrategyOutcome> = {
  type: 'upsertStrategy',
  apply: upsertStrategy,
  describe: (c) => `upsertStrategy (strategies) name=${c.strategy?.name}`,
};
export const changeRankSpec: CommandSpec<ChangeRankCommand, ChangeRankOutcome> = {
  type: 'changeRank',
  apply: changeRank,
  describe: (c) => `changeRank (strategies) name=${c.name} ${c.expectedFrom}->${c.to}`,
};

/** What a result gives its strategy: the OOS figures the rank criteria read. */
export interface OosFigures {
  readonly sharpe: number;
  readonly profitFactor: number;
  readonly winRate: number;
  readonly maxDd: number;
  readonly trades: number;
}

/**
 * Writes a result's OOS metrics to its strategy; returns the new change_seq, or null when the
 * strategy already holds metrics of a newer request (or is gone).
 */
export function recordOosMetrics(
  store: Store,
  strategyName: string,
  request: { requestId: string; enqueuedAt: number },
  result: OosFigures,
  now: number,
): number | null {
  const changeSeq = nextChangeSeq(store);
  const changed = statements(store).setOos.run({
    name: strategyName,
    requestId: request.requestId,
    enqueuedAt: request.enqueuedAt,
    sharpe: result.sharpe,
    profitFactor: result.profitFactor,
    winRate: result.winRate,
    maxDd: result.maxDd,
    trades: result.trades,
    now,
    changeSeq,
  }).changes;
  if (changed === 1) return changeSeq;
  giveBackChangeSeq(store, changeSeq);
  return null;
}

// Reads ------------------------------------------------------------------------------------------

export function getStrategy(store: Store, name: string): StrategyRecord | undefined {
  const row = statements(store).get.get({ name });
  return row ? toStrategy(row) : undefined;
}

/**
 * Strategies written after change_seq `seq`, in change order, at most `limit`. `lastSeq` is the
 * watermark to pass next time (unchanged when nothing was written).
 */
export function readStrategiesChangedSince(store: Store, seq: number, limit = 500): { strategies: StrategyRecord[]; lastSeq: number } {
  requireInteger('readStrategiesChangedSince', 'seq', seq);
  requirePositiveInteger('readStrategiesChangedSince', 'limit', limit);
  const strategies = statements(store).changedSince.all({ seq, limit }).map(toStrategy);
  return { strategies, lastSeq: strategies.length > 0 ? strategies[strategies.length - 1].changeSeq : seq };
}

/**
 * Strategies written after change_seq `seq` and no later than `upTo`, in change order, at most
 * `limit`: a batch of a reader that stops where it chose to (the rank evaluator stops at the
 * sequence's value when its cycle began). `lastSeq` is the watermark to pass next time, `done`
 * says nothing is left up to `upTo`, and `fetched` counts the rows read, those past `upTo` too.
 */
export function readStrategiesChangedUpTo(
  store: Store,
  seq: number,
  upTo: number,
  limit = 500,
): { strategies: StrategyRecord[]; fetched: number; lastSeq: number; done: boolean } {
  requireInteger('readStrategiesChangedUpTo', 'upTo', upTo);
  if (seq >= upTo) return { strategies: [], fetched: 0, lastSeq: seq, done: true };
  // Change sequences are unique integers, so (seq, upTo] holds at most upTo - seq rows.
  const bounded = Math.min(limit, upTo - seq);
  const { strategies } = readStrategiesChangedSince(store, seq, bounded);
  let n = strategies.length;
  while (n > 0 && strategies[n - 1].changeSeq > upTo) n--;
  const kept = n === strategies.length ? strategies : strategies.slice(0, n);
  const lastSeq = n > 0 ? kept[n - 1].changeSeq : seq;
  return { strategies: kept, fetched: strategies.length, lastSeq, done: n < bounded || lastSeq >= upTo };
}

/**
 * All strategies in name order, one batch at a time: pass the returned `next` as `after` until it
 * is null. Batches bound the work of a full scan.
 */
export function readAllStrategies(
  store: Store,
  cursor: { after?: string | null; limit?: number } = {},
): { strategies: StrategyRecord[]; next: string | null } {
  const limit = requirePositiveInteger('readAllStrategies', 'limit', cursor.limit ?? 500);
  const strategies = statements(store)
    .page.all({ after: cursor.after ?? '', limit })
    .map(toStrategy);
  return { strategies, next: strategies.length === limit ? strategies[strategies.length - 1].name : null };
}
