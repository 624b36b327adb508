/**
 * Time as a service. Everything in shoal that reads the time or waits takes a Clock, so tests
 * drive timing with a ManualClock instead of sleeping. All times are Unix epoch milliseconds.
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

/** The real clock: Date.now and Node's timers. */
export class SystemClock implements Clock {
  private nextId = 1;

  now(): number {
    return Date.now();
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
