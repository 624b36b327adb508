/**
 * Rank criteria as data, and the pure decisions made from them. No I/O, no clock.
 *
 * The thresholds are a `RankCriteria` value (DEFAULT_RANK_CRITERIA holds the host's table); the
 * code only knows how to read such a table. Rules, in order:
 *
 * 1. LEGEND (protected) and GRAVEYARD/RETIRED (archived) never move.
 * 2. A criterion on a metric that is NULL (or NaN) is UNKNOWN, never a pass and never a failure:
 *    an unknown OOS sharpe means "not validated yet", not 0. 0 is a real value, and fails.
 *    An infinite metric is UNKNOWN too: +inf (a profit factor with no losing trade, a Sortino with
 *    no losing day) is what a degenerate sample prints, not evidence, so it never promotes; and
 *    -inf (a Sharpe bound over under 10 days) never demotes.
 * 3. Ranks are cumulative: meeting A means meeting B's and A's criteria; S means B, A and S.
 * 4. Promotion is one step per decision (INCUBATOR->B, B->A, A->S), only when every criterion of
 *    the next rank passes. Each step is its own rank_history row; the write bumps change_seq, so
 *    an incremental reader sees the strategy again and can take the next step.
 * 5. Demotion needs a definite failure of the current rank: the strategy goes to the highest lower
 *    active rank with no definite failure; if even B fails definitely it goes to `belowB`
 *    (GRAVEYARD, the host's word for discarded, by default). Unknown metrics never demote.
 * 6. INCUBATOR strategies enter B when they meet B; below B they stay INCUBATOR (still being
 *    bred: discarding them is the breeder's call, not the evaluator's).
 * 7. A passing OOS result promotes B->A (rule 4); a failing one keeps B (A fails, B passes).
 */

/** Metrics a criterion can test; names follow StrategyRecord's fields. */
export const RANKS = ['INCUBATOR', 'B', 'A', 'S', 'LEGEND', 'GRAVEYARD', 'RETIRED'] as const;
export type Rank = (typeof RANKS)[number];
/** Archived ranks: a plain upsert never brings a strategy back from these. */
export const ARCHIVED_RANKS: readonly Rank[] = ['GRAVEYARD', 'RETIRED'];

export const RANK_METRICS = [
  'sharpe',
  'profitFactor',
  'winRate',
  'maxDd',
  'trades',
  'oosSharpe',
  'oosProfitFactor',
  'oosWinRate',
  'oosMaxDd',
  'oosTrades',
  'cpcvPassRate',
  'cpcvMedianDd',
] as const;
export type RankMetric = (typeof RANK_METRICS)[number];

/** Which evidence a metric is: the OOS gate is the `oos` part of a rank's criteria. */
export type MetricPhase = 'in_sample' | 'oos' | 'cpcv';

export function phaseOf(metric: RankMetric): MetricPhase {
  if (metric.startsWith('oos')) return 'oos';
  if (metric.startsWith('cpcv')) return 'cpcv';
  return 'in_sample';
}

/** One threshold: `metric op value`. `>=` for "at least", `<` for "strictly below". */
export interface Criterion {
  readonly metric: RankMetric;
  readonly op: '>=' | '<';
  readonly value: number;
}

export const GRADED_RANKS = ['B', 'A', 'S'] as const;
export type GradedRank = (typeof GRADED_RANKS)[number];

export interface RankCriteria {
  /** Each rank's own criteria; a rank also requires every lower graded rank's (cumulative). */
  readonly B: readonly Criterion[];
  readonly A: readonly Criterion[];
  readonly S: readonly Criterion[];
  /** Where an active strategy goes when it definitely fails B. */
  readonly belowB: Rank;
}

/** The host's table (win rate and drawdown are fractions). "Trades of evidence" is in-sample trades. */
export const DEFAULT_RANK_CRITERIA: RankCriteria = deepFreeze({
  B: [
    { metric: 'sharpe', op: '>=', value: 0.15 },
    { metric: 'profitFactor', op: '>=', value: 1.05 },
    { metric: 'winRate', op: '>=', value: 0.35 },
    { metric: 'maxDd', op: '<', value: 0.25 },
  ],
  A: [
    { metric: 'sharpe', op: '>=', value: 0.45 },
    { metric: 'profitFactor', op: '>=', value: 1.3 },
    { metric: 'winRate', op: '>=', value: 0.43 },
    { metric: 'maxDd', op: '<', value: 0.16 },
    { metric: 'oosSharpe', op: '>=', value: 0.35 },
    { metric: 'trades', op: '>=', value: 200 },
  ],
  S: [
    { metric: 'sharpe', op: '>=', value: 0.75 },
    { metric: 'profitFactor', op: '>=', value: 1.7 },
    { metric: 'winRate', op: '>=', value: 0.5 },
    { metric: 'maxDd', op: '<', value: 0.1 },
    { metric: 'cpcvPassRate', op: '>=', value: 0.7 },
    { metric: 'cpcvMedianDd', op: '<', value: 0.12 },
  ],
  belowB: 'GRAVEYARD',
} satisfies RankCriteria);

/** The strategy fields a decision reads (a StrategyRecord fits). */
export type RankInput = { readonly name: string; readonly rank: Rank } & { readonly [K in RankMetric]: number | null };

export type Check = 'pass' | 'fail' | 'unknown';

export interface CriterionResult {
  readonly criterion: Criterion;
  readonly actual: number | null;
  readonly check: Check;
}

export interface RankDecision {
  /** Target rank; equal to the current one when nothing should change. */
  readonly rank: Rank;
  readonly reason: string;
  /** The values of the metrics the deciding criteria read (null = unknown). */
  readonly metrics: Readonly<Record<string, number | null>>;
}

const PROTECTED: readonly Rank[] = ['LEGEND', 'GRAVEYARD', 'RETIRED'];
const LEVEL: Partial<Record<Rank, number>> = { B: 0, A: 1, S: 2 };

/** Throws a RangeError naming the first malformed entry: criteria usually come from configuration. */
export function validateRankCriteria(criteria: RankCriteria): RankCriteria {
  for (const rank of GRADED_RANKS) {
    const list = criteria[rank];
    if (!Array.isArray(list)) throw new RangeError(`rank criteria ${rank}: must be a list of criteria`);
    list.forEach((c: Criterion, i: number) => {
      const where = `rank criteria ${rank}[${i}]`;
      if (!(RANK_METRICS as readonly string[]).includes(c.metric)) throw new RangeError(`${where}: unknown metric ${String(c.metric)}; one of ${RANK_METRICS.join(', ')}`);
      if (c.op !== '>=' && c.op !== '<') throw new RangeError(`${where}: op must be '>=' or '<', got ${String(c.op)}`);
      if (typeof c.value !== 'number' || !Number.isFinite(c.value)) throw new RangeError(`${where}: value must be a finite number, got ${String(c.value)}`);
    });
  }
  if (criteria.B.length === 0) throw new RangeError('rank criteria B: needs at least one criterion');
  return criteria;
}

function known(v: number | null | undefined): v is number {
  return typeof v === 'number' && !Number.isNaN(v);
}

export function checkCriterion(actual: number | null | undefined, c: Criterion): Check {
  // Rule 2: NULL, NaN and +/-inf neither pass nor fail.
  if (!known(actual) || actual - actual !== 0) return 'unknown';
  return (c.op === '>=' ? actual >= c.value : actual < c.value) ? 'pass' : 'fail';
}

// Criteria values are immutable (readonly types, the default is frozen), so derived lists are cached per value.
const cumulativeCache = new WeakMap<RankCriteria, Record<GradedRank, readonly Criterion[]>>();

/** The criteria of `rank` and of every graded rank below it, in table order (built once per criteria value). */
export function cumulativeCriteria(criteria: RankCriteria, rank: GradedRank): readonly Criterion[] {
  let lists = cumulativeCache.get(criteria);
  if (lists === undefined) {
    const b = [...criteria.B];
    const a = [...b, ...criteria.A];
    lists = { B: b, A: a, S: [...a, ...criteria.S] };
    cumulativeCache.set(criteria, lists);
  }
  return lists[rank];
}

export function checkAll(s: RankInput, list: readonly Criterion[]): CriterionResult[] {
  return list.map((criterion) => ({ criterion, actual: known(s[criterion.metric]) ? s[criterion.metric] : null, check: checkCriterion(s[criterion.metric], criterion) }));
}

function verdictOf(results: readonly CriterionResult[]): Check {
  if (results.some((r) => r.check === 'fail')) return 'fail';
  return results.every((r) => r.check === 'pass') ? 'pass' : 'unknown';
}

function describe(r: CriterionResult): string {
  const { metric, op, value } = r.criterion;
  const actual = r.actual === null ? 'unknown' : r.actual === Infinity ? 'inf (not finite)' : r.actual === -Infinity ? '-inf (not finite)' : String(r.actual);
  return `${metric} ${actual} ${r.check === 'fail' ? 'fails' : r.check === 'pass' ? 'meets' : 'needs'} ${op} ${value}`;
}

function metricsOf(results: readonly CriterionResult[]): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const r of results) out[r.criterion.metric] = r.actual;
  return out;
}

/**
 * Decides where a strategy belongs (rules at the top of this file). The write that follows must be
 * a guarded changeRank (`expectedFrom` = the rank read), so a decision made on a stale read changes
 * nothing.
 */
export function evaluateRank(s: RankInput, criteria: RankCriteria = DEFAULT_RANK_CRITERIA): RankDecision {
  if (PROTECTED.includes(s.rank)) {
    return { rank: s.rank, reason: `${s.rank} is ${s.rank === 'LEGEND' ? 'protected' : 'archived'}: never moved by evaluation`, metrics: {} };
  }
  const level = LEVEL[s.rank];
  const check = (r: GradedRank) => checkAll(s, cumulativeCriteria(criteria, r));

  // Demotion: only on a definite failure of the current rank.
  if (level !== undefined) {
    const current = check(GRADED_RANKS[level]);
    if (verdictOf(current) === 'fail') {
      const failing = current.filter((r) => r.check === 'fail').map(describe).join(', ');
      for (let l = level - 1; l >= 0; l--) {
        const lower = check(GRADED_RANKS[l]);
        if (verdictOf(lower) !== 'fail') {
          return { rank: GRADED_RANKS[l], reason: `demoted ${s.rank}->${GRADED_RANKS[l]}: ${failing}`, metrics: metricsOf(current) };
        }
      }
      return { rank: criteria.belowB, reason: `demoted ${s.rank}->${criteria.belowB}: fails B: ${failing}`, metrics: metricsOf(current) };
    }
  }

  // Promotion: one step, only when every criterion of the next rank passes.
  const next: GradedRank | undefined = s.rank === 'INCUBATOR' ? 'B' : level !== undefined && level < 2 ? GRADED_RANKS[level + 1] : undefined;
  if (next === undefined) return { rank: s.rank, reason: `stays ${s.rank}: meets its criteria`, metrics: metricsOf(check('S')) };
  const target = check(next);
  const verdict = verdictOf(target);
  if (verdict === 'pass') {
    return { rank: next, reason: `promoted ${s.rank}->${next}: ${target.filter((r) => criteria[next].includes(r.criterion)).map(describe).join(', ')}`, metrics: metricsOf(target) };
  }
  const blocking = target.filter((r) => r.check !== 'pass').map(describe).join(', ');
  return { rank: s.rank, reason: `stays ${s.rank}: not ${next} (${verdict === 'fail' ? 'fails' : 'unknown'}: ${blocking})`, metrics: metricsOf(target) };
}

/** A's criteria except its OOS gate: what a B strategy must meet before OOS is worth asking for. */
export function inSampleCriteriaFor(criteria: RankCriteria, rank: GradedRank): Criterion[] {
  return cumulativeCriteria(criteria, rank).filter((c) => phaseOf(c.metric) === 'in_sample');
}

/**
 * True for a B strategy that meets A's in-sample criteria, whose OOS sharpe is unknown (NULL:
 * never validated; 0 is a real, failing value), and that has no live request.
 */
export function needsOos(s: RankInput, criteria: RankCriteria = DEFAULT_RANK_CRITERIA, hasLiveRequest: boolean): boolean {
  if (s.rank !== 'B' || hasLiveRequest || known(s.oosSharpe)) return false;
  return verdictOf(checkAll(s, inSampleCriteriaFor(criteria, 'A'))) === 'pass';
}

/** The OOS gate: the oos-phase criteria of A (by default `oosSharpe >= 0.35`). */
export function oosGate(criteria: RankCriteria = DEFAULT_RANK_CRITERIA): Criterion[] {
  return criteria.A.filter((c) => phaseOf(c.metric) === 'oos');
}

/** The OOS gate per criteria value (immutable, as above): every applied result is judged against it. */
const gateOf = new WeakMap<RankCriteria, readonly Criterion[]>();

function cachedOosGate(criteria: RankCriteria): readonly Criterion[] {
  let gate = gateOf.get(criteria);
  if (gate === undefined) gateOf.set(criteria, (gate = oosGate(criteria)));
  return gate;
}

/** An OOS result's metrics, as stored in oos_results. */
export interface OosResultMetrics {
  readonly sharpe: number | null;
  readonly profitFactor: number | null;
  readonly winRate: number | null;
  readonly maxDd: number | null;
  readonly trades: number | null;
}

const OOS_FIELD: Partial<Record<RankMetric, keyof OosResultMetrics>> = {
  oosSharpe: 'sharpe',
  oosProfitFactor: 'profitFactor',
  oosWinRate: 'winRate',
  oosMaxDd: 'maxDd',
  oosTrades: 'trades',
};

/** Whether one OOS result meets the OOS gate; an unknown value (NaN stored as NULL) or an infinite one does not. */
export function passesOosGate(result: OosResultMetrics, criteria: RankCriteria = DEFAULT_RANK_CRITERIA): boolean {
  return cachedOosGate(criteria).every((c) => checkCriterion(result[OOS_FIELD[c.metric]!], c) === 'pass');
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
