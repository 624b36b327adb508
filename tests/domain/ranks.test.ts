import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Rank } from '../../persistence/schema.ts';
import {
  checkCriterion,
  DEFAULT_RANK_CRITERIA,
  evaluateRank,
  needsOos,
  oosGate,
  passesOosGate,
  RANK_METRICS,
  validateRankCriteria,
  type Criterion,
  type GradedRank,
  type RankCriteria,
  type RankInput,
} from '../../domain/ranks.ts';

const NONE = Object.fromEntries(RANK_METRICS.map((m) => [m, null])) as Record<(typeof RANK_METRICS)[number], null>;

function s(rank: Rank, metrics: Partial<Omit<RankInput, 'name' | 'rank'>>): RankInput {
  return { name: 'X', rank, ...NONE, ...metrics };
}

/** Meets B, not A (no OOS yet). */
const B_ONLY = { sharpe: 0.2, profitFactor: 1.1, winRate: 0.4, maxDd: 0.2, trades: 50 };
/** Meets A in sample and out of sample, not S. */
const A_LEVEL = { sharpe: 0.5, profitFactor: 1.4, winRate: 0.45, maxDd: 0.12, trades: 250, oosSharpe: 0.5 };
/** Meets everything. */
const S_LEVEL = { sharpe: 0.8, profitFactor: 1.8, winRate: 0.55, maxDd: 0.05, trades: 300, oosSharpe: 0.5, cpcvPassRate: 0.8, cpcvMedianDd: 0.05 };

/** For each graded rank: where a strategy starts, the metrics that meet that rank, and where it stays when it does not. */
const EDGE_SETUP: Record<GradedRank, { from: Rank; base: Partial<RankInput> }> = {
  B: { from: 'INCUBATOR', base: B_ONLY },
  A: { from: 'B', base: A_LEVEL },
  S: { from: 'A', base: S_LEVEL },
};

const EPS = 1e-9;
type Edge = 'just below' | 'at' | 'just above';

function valueAt(c: Criterion, edge: Edge): number {
  const step = c.metric === 'trades' || c.metric === 'oosTrades' ? 1 : EPS;
  return edge === 'just below' ? c.value - step : edge === 'at' ? c.value : c.value + step;
}

function passes(c: Criterion, edge: Edge): boolean {
  return c.op === '>=' ? edge !== 'just below' : edge === 'just below';
}

const edgeCases = (['B', 'A', 'S'] as const).flatMap((rank) =>
  DEFAULT_RANK_CRITERIA[rank].flatMap((c) =>
    (['just below', 'at', 'just above'] as const).map((edge) => ({ rank, c, edge, name: `${rank}: ${c.metric} ${c.op} ${c.value}, ${edge}` })),
  ),
);

describe('rank criteria', () => {
  it('the default criteria are the host table (thresholds as data)', () => {
    const flat = (list: readonly Criterion[]) => list.map((c) => `${c.metric} ${c.op} ${c.value}`);
    expect(flat(DEFAULT_RANK_CRITERIA.B)).toEqual(['sharpe >= 0.15', 'profitFactor >= 1.05', 'winRate >= 0.35', 'maxDd < 0.25']);
    expect(flat(DEFAULT_RANK_CRITERIA.A)).toEqual(['sharpe >= 0.45', 'profitFactor >= 1.3', 'winRate >= 0.43', 'maxDd < 0.16', 'oosSharpe >= 0.35', 'trades >= 200']);
    expect(flat(DEFAULT_RANK_CRITERIA.S)).toEqual(['sharpe >= 0.75', 'profitFactor >= 1.7', 'winRate >= 0.5', 'maxDd < 0.1', 'cpcvPassRate >= 0.7', 'cpcvMedianDd < 0.12']);
    expect(DEFAULT_RANK_CRITERIA.belowB).toBe('GRAVEYARD');
    expect(Object.isFrozen(DEFAULT_RANK_CRITERIA.A[0])).toBe(true);
  });

  it.each(edgeCases)('threshold edge $name', ({ rank, c, edge }) => {
    const { from, base } = EDGE_SETUP[rank];
    const d = evaluateRank(s(from, { ...base, [c.metric]: valueAt(c, edge) }));
    expect(d.rank).toBe(passes(c, edge) ? rank : from);
    expect(d.metrics[c.metric]).toBe(valueAt(c, edge));
  });

  it('a changed table changes the decisions: criteria are data, not code', () => {
    const strict: RankCriteria = { ...DEFAULT_RANK_CRITERIA, B: [{ metric: 'sharpe', op: '>=', value: 1 }] };
    expect(evaluateRank(s('INCUBATOR', B_ONLY)).rank).toBe('B');
    expect(evaluateRank(s('INCUBATOR', B_ONLY), strict).rank).toBe('INCUBATOR');
    expect(evaluateRank(s('B', B_ONLY), { ...strict, belowB: 'RETIRED' }).rank).toBe('RETIRED');
  });

  it('rejects a malformed table with the entry named', () => {
    expect(() => validateRankCriteria({ ...DEFAULT_RANK_CRITERIA, A: [{ metric: 'sharp' as never, op: '>=', value: 1 }] })).toThrow(/A\[0\]: unknown metric sharp/);
    expect(() => validateRankCriteria({ ...DEFAULT_RANK_CRITERIA, S: [{ metric: 'sharpe', op: '>' as never, value: 1 }] })).toThrow(/S\[0\]: op/);
    expect(() => validateRankCriteria({ ...DEFAULT_RANK_CRITERIA, B: [{ metric: 'sharpe', op: '>=', value: NaN }] })).toThrow(/B\[0\]: value/);
  });
});

describe('promotion', () => {
  it('an INCUBATOR strategy enters B when it meets B, and stays INCUBATOR below it', () => {
    expect(evaluateRank(s('INCUBATOR', B_ONLY)).rank).toBe('B');
    expect(evaluateRank(s('INCUBATOR', { ...B_ONLY, sharpe: 0.1 })).rank).toBe('INCUBATOR');
  });

  it('promotes one step at a time, each step with its own reason', () => {
    const d = evaluateRank(s('INCUBATOR', S_LEVEL));
    expect(d.rank).toBe('B');
    expect(d.reason).toMatch(/^promoted INCUBATOR->B: sharpe 0.8 meets >= 0.15/);
    expect(evaluateRank(s('B', S_LEVEL)).rank).toBe('A');
    expect(evaluateRank(s('A', S_LEVEL)).rank).toBe('S');
    expect(evaluateRank(s('S', S_LEVEL)).rank).toBe('S');
  });

  it('a passing OOS result promotes B to A; a failing one keeps B', () => {
    expect(evaluateRank(s('B', { ...A_LEVEL, oosSharpe: 0.35 })).rank).toBe('A');
    const kept = evaluateRank(s('B', { ...A_LEVEL, oosSharpe: 0.2 }));
    expect(kept.rank).toBe('B');
    expect(kept.reason).toContain('oosSharpe 0.2 fails >= 0.35');
  });

  it('S needs the CPCV evidence: unknown CPCV metrics keep an A strategy in A', () => {
    expect(evaluateRank(s('A', { ...S_LEVEL, cpcvPassRate: null })).rank).toBe('A');
    expect(evaluateRank(s('A', { ...S_LEVEL, cpcvMedianDd: null })).rank).toBe('A');
  });
});

describe('OOS sharpe: NULL is unknown, 0 is a real failing value', () => {
  const candidate = { ...A_LEVEL, oosSharpe: null };

  it('a B strategy meeting A in sample with OOS NULL needs OOS and is not demoted or promoted', () => {
    const d = evaluateRank(s('B', candidate));
    expect(d.rank).toBe('B');
    expect(d.reason).toContain('unknown');
    expect(needsOos(s('B', candidate), DEFAULT_RANK_CRITERIA, false)).toBe(true);
  });

  it('OOS 0 is a result: no new request, the strategy stays B, and the reason says it failed', () => {
    expect(needsOos(s('B', { ...candidate, oosSharpe: 0 }), DEFAULT_RANK_CRITERIA, false)).toBe(false);
    const d = evaluateRank(s('B', { ...candidate, oosSharpe: 0 }));
    expect(d.rank).toBe('B');
    expect(d.reason).toContain('oosSharpe 0 fails >= 0.35');
    expect(d.metrics.oosSharpe).toBe(0);
  });

  it('an A strategy with OOS NULL stays A (unknown never demotes); with OOS 0 it goes to B', () => {
    expect(evaluateRank(s('A', candidate)).rank).toBe('A');
    const d = evaluateRank(s('A', { ...candidate, oosSharpe: 0 }));
    expect(d.rank).toBe('B');
    expect(d.reason).toBe('demoted A->B: oosSharpe 0 fails >= 0.35');
  });

  it('NaN is unknown too, never a value', () => {
    expect(needsOos(s('B', { ...candidate, oosSharpe: NaN }), DEFAULT_RANK_CRITERIA, false)).toBe(true);
    expect(evaluateRank(s('A', { ...candidate, oosSharpe: NaN })).rank).toBe('A');
  });

  it('no OOS is needed while a request is live, below A in sample, or outside B', () => {
    expect(needsOos(s('B', candidate), DEFAULT_RANK_CRITERIA, true)).toBe(false);
    expect(needsOos(s('B', { ...candidate, sharpe: 0.44 }), DEFAULT_RANK_CRITERIA, false)).toBe(false);
    expect(needsOos(s('B', { ...candidate, trades: 199 }), DEFAULT_RANK_CRITERIA, false)).toBe(false);
    expect(needsOos(s('B', { ...candidate, winRate: null }), DEFAULT_RANK_CRITERIA, false)).toBe(false);
    for (const rank of ['INCUBATOR', 'A', 'S', 'LEGEND', 'GRAVEYARD', 'RETIRED'] as const) expect(needsOos(s(rank, candidate), DEFAULT_RANK_CRITERIA, false)).toBe(false);
  });

  it('the OOS gate of the daily summary is the oos part of A: 0.35 passes, just below and unknown fail', () => {
    expect(oosGate().map((c) => c.metric)).toEqual(['oosSharpe']);
    const r = { profitFactor: 1, winRate: 0.5, maxDd: 0.1, trades: 10 };
    expect(passesOosGate({ ...r, sharpe: 0.35 })).toBe(true);
    expect(passesOosGate({ ...r, sharpe: 0.35 - EPS })).toBe(false);
    expect(passesOosGate({ ...r, sharpe: 0 })).toBe(false);
    expect(passesOosGate({ ...r, sharpe: null })).toBe(false);
  });
});

describe('demotion', () => {
  it('an A strategy whose in-sample metrics fall below A goes to B', () => {
    const d = evaluateRank(s('A', { ...A_LEVEL, sharpe: 0.3 }));
    expect(d.rank).toBe('B');
    expect(d.reason).toBe('demoted A->B: sharpe 0.3 fails >= 0.45');
  });

  it('an active strategy below B goes to GRAVEYARD, from any active rank', () => {
    for (const rank of ['B', 'A', 'S'] as const) {
      const d = evaluateRank(s(rank, { ...S_LEVEL, maxDd: 0.3 }));
      expect(d.rank).toBe('GRAVEYARD');
      expect(d.reason).toMatch(new RegExp(`^demoted ${rank}->GRAVEYARD: fails B: .*maxDd 0.3 fails < 0.25`));
    }
  });

  it('an S strategy goes down to the highest rank it still meets', () => {
    expect(evaluateRank(s('S', { ...S_LEVEL, cpcvPassRate: 0.5 })).rank).toBe('A');
    expect(evaluateRank(s('S', { ...S_LEVEL, oosSharpe: 0.1 })).rank).toBe('B');
  });

  it('unknown metrics never demote: a NULL in-sample metric keeps the current rank', () => {
    expect(evaluateRank(s('B', { ...B_ONLY, sharpe: null })).rank).toBe('B');
    expect(evaluateRank(s('S', { ...S_LEVEL, cpcvPassRate: null })).rank).toBe('S');
  });
});

describe('protected and archived ranks', () => {
  it('GRAVEYARD and RETIRED strategies are never resurrected, whatever their metrics', () => {
    for (const rank of ['GRAVEYARD', 'RETIRED'] as const) {
      const d = evaluateRank(s(rank, S_LEVEL));
      expect(d.rank).toBe(rank);
      expect(d.reason).toContain('archived');
    }
  });

  it('LEGEND is never moved, whatever its metrics', () => {
    expect(evaluateRank(s('LEGEND', { sharpe: -5, profitFactor: 0, winRate: 0, maxDd: 0.9, oosSharpe: 0 })).rank).toBe('LEGEND');
  });

  it('property: a decision is never undone by deciding again on the same metrics (no flapping), and protected ranks never move', () => {
    const metric = fc.option(fc.double({ min: -1, max: 3, noNaN: true }), { nil: null });
    const ranks: Rank[] = ['INCUBATOR', 'B', 'A', 'S', 'LEGEND', 'GRAVEYARD', 'RETIRED'];
    fc.assert(
      fc.property(fc.constantFrom(...ranks), fc.record(Object.fromEntries(RANK_METRICS.map((m) => [m, metric])) as Record<(typeof RANK_METRICS)[number], fc.Arbitrary<number | null>>), (rank, metrics) => {
        const first = evaluateRank(s(rank, metrics));
        if (['LEGEND', 'GRAVEYARD', 'RETIRED'].includes(rank)) expect(first.rank).toBe(rank);
        const order = ['GRAVEYARD', 'INCUBATOR', 'B', 'A', 'S'];
        const second = evaluateRank(s(first.rank, metrics));
        // After a promotion the next decision may promote again, never demote; after a demotion nothing moves up.
        if (order.indexOf(first.rank) > order.indexOf(rank)) expect(order.indexOf(second.rank)).toBeGreaterThanOrEqual(order.indexOf(first.rank));
        if (order.indexOf(first.rank) < order.indexOf(rank)) expect(second.rank).toBe(first.rank);
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('non-finite metrics are unknown: +inf never promotes, -inf never demotes, NaN never passes', () => {
  /** A's criteria with an OOS profit-factor gate too, so an OOS result's +inf profit factor reaches a decision. */
  const WITH_OOS_PF: RankCriteria = { ...DEFAULT_RANK_CRITERIA, A: [...DEFAULT_RANK_CRITERIA.A, { metric: 'oosProfitFactor', op: '>=', value: 1.2 }] };

  it('a single criterion on +inf, -inf or NaN is unknown, whichever its operator', () => {
    for (const v of [Infinity, -Infinity, NaN]) {
      for (const op of ['>=', '<'] as const) {
        expect(checkCriterion(v, { metric: 'profitFactor', op, value: 1 })).toBe('unknown');
      }
    }
    expect(checkCriterion(1e308, { metric: 'profitFactor', op: '>=', value: 1 })).toBe('pass');
  });

  it('a B strategy whose only missing evidence is a +inf OOS profit factor is not promoted, and the reason says why', () => {
    expect(evaluateRank(s('B', { ...A_LEVEL, oosProfitFactor: 1.5 }), WITH_OOS_PF).rank).toBe('A');
    const d = evaluateRank(s('B', { ...A_LEVEL, oosProfitFactor: Infinity }), WITH_OOS_PF);
    expect(d.rank).toBe('B');
    expect(d.reason).toContain('oosProfitFactor inf (not finite) needs >= 1.2');
  });

  it('an INCUBATOR strategy with a +inf in-sample profit factor does not enter B on it', () => {
    expect(evaluateRank(s('INCUBATOR', { ...B_ONLY, profitFactor: Infinity })).rank).toBe('INCUBATOR');
    expect(evaluateRank(s('INCUBATOR', { ...B_ONLY, profitFactor: NaN })).rank).toBe('INCUBATOR');
  });

  it('a -inf OOS sharpe does not demote an A strategy (a degenerate sample is not a failure)', () => {
    expect(evaluateRank(s('A', { ...A_LEVEL, oosSharpe: -Infinity })).rank).toBe('A');
  });

  it('the OOS gate of the daily summary passes no +inf and no NaN', () => {
    const r = { sharpe: 0.5, winRate: 0.5, maxDd: 0.1, trades: 10 };
    expect(passesOosGate({ ...r, profitFactor: 1.5 }, WITH_OOS_PF)).toBe(true);
    expect(passesOosGate({ ...r, profitFactor: Infinity }, WITH_OOS_PF)).toBe(false);
    expect(passesOosGate({ ...r, profitFactor: NaN }, WITH_OOS_PF)).toBe(false);
    expect(passesOosGate({ ...r, sharpe: Infinity, profitFactor: 1.5 })).toBe(false);
  });
});
