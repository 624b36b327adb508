/**
 * Time as a service. Everything in shoal that reads the time or waits takes a Clock, so tests
 * drive timing with a ManualClock instead of sleeping. All times are Unix epoch milliseconds.
 *
 * The real clock reads the wall clock once, at start, and moves on monotonic time from there
 * (docs/adr/0014): a step of the wall clock (NTP, an operator) neither expires every lease at once
 * nor holds a retry for hours, while the times it gives are still Unix ms that mean something
 * after a restart.
 */
export interface TimerHandle {
  readonly id: number;
}

export interface Clock {
  /** Unix epoch milliseconds. */
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** Where the real clock reads time: the wall clock (Unix ms) and a monotonic clock (ms, any origin). */
export interface TimeSources {
  readonly wall: () => number;
  readonly monotonic: () => number;
}

const realSources: TimeSources = { wall: () => Date.now(), monotonic: () => performance.now() };

/**
 * The real clock: the wall time read once at construction plus monotonic time elapsed since, and
 * Node's timers (which run on monotonic time already). A wall-clock step during the process's
 * life shows only in `wallSkewMs`; the next process starts from the stepped wall clock.
 */
export class SystemClock implements Clock {
  private nextId = 1;
  private readonly wallAtStart: number;
  private readonly monotonicAtStart: number;

  constructor(private readonly sources: TimeSources = realSources) {
    this.wallAtStart = sources.wall();
    this.monotonicAtStart = sources.monotonic();
  }

  now(): number {
    return Math.floor(this.wallAtStart + (this.sources.monotonic() - this.monotonicAtStart));
  }

  /** How far the wall clock has moved from this clock since start (positive: the wall clock is ahead); for operators. */
  wallSkewMs(): number {
    return this.sources.wall() - this.now();
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    // The handle carries the Node timer itself: no lookup table on the hot path (every query sets one).
    const t = setTimeout(fn, Math.max(0, ms));
    return { id: this.nextId++, timer: t } as TimerHandle;
  }

  clearTimeout(handle: TimerHandle): void {
    const t = (handle as { timer?: NodeJS.Timeout }).timer;
    if (t !== undefined) clearTimeout(t);
  }
}

interface PendingTimer {
  id: number;
  due: number;
  seq: number;
  fn: () => void;
}

/**
 * A clock that only moves when told to. `advance(ms)` fires every timer that falls due, in due
 * order (ties in creation order), with `now()` set to each timer's due time while it runs.
 */
export class ManualClock implements Clock {
  private current: number;
  private timers: PendingTimer[] = [];
  private nextId = 1;
  private seq = 0;

  constructor(start = 1_700_000_000_000) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.timers.push({ id, due: this.current + Math.max(0, ms), seq: this.seq++, fn });
    return { id };
  }

  clearTimeout(handle: TimerHandle): void {
    this.timers = this.timers.filter((t) => t.id !== handle.id);
  }

  /** Number of timers not yet fired. */
  pendingTimers(): number {
    return this.timers.length;
  }

  /** Due time of the earliest pending timer, or undefined. */
  nextDue(): number | undefined {
    let min: number | undefined;
    for (const t of this.timers) if (min === undefined || t.due < min) min = t.due;
    return min;
  }

  /** Moves time forward by `ms`, firing due timers in order (timers they set that fall due inside the span fire too). */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      let next: PendingTimer | undefined;
      for (const t of this.timers) {
        if (t.due <= target && (next === undefined || t.due < next.due || (t.due === next.due && t.seq < next.seq))) next = t;
      }
      if (next === undefined) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.current = Math.max(this.current, next.due);
      next.fn();
    }
    this.current = target;
  }

  /** Sets the time (forward only), firing due timers. */
  setTime(ms: number): void {
    if (ms < this.current) throw new Error(`ManualClock cannot go back in time: ${ms} < ${this.current}`);
    this.advance(ms - this.current);
  }
}

export const systemClock: Clock = new SystemClock();
