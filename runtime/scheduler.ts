import { RingQueue } from './ring-queue.ts';
import type { Cell } from './cell.ts';

/**
 * Runs actors with queued messages. Each turn (one setImmediate callback) visits ready actors
 * round-robin, each handling at most its `throughput` messages per visit, until the turn's
 * budget is spent; then it yields to I/O and timers so ZeroMQ sockets and clocks are never starved.
 */
export class Scheduler {
  private readonly ready = new RingQueue<Cell>(64);
  private pending = false;
  turns = 0;

  constructor(private readonly turnBudget = 4096) {}

  schedule(cell: Cell): void {
    cell.queued = true;
    this.ready.push(cell);
    if (!this.pending) {
      this.pending = true;
      setImmediate(this.run);
    }
  }

  get idle(): boolean {
    return this.ready.length === 0 && !this.pending;
  }

  private readonly run = (): void => {
    this.pending = false;
    this.turns++;
    let budget = this.turnBudget;
    const ready = this.ready;
    while (budget > 0 && ready.length > 0) {
      const cell = ready.shift()!;
      cell.queued = false;
      const handled = cell.drain(cell.throughput < budget ? cell.throughput : budget);
      budget -= handled > 0 ? handled : 1;
      // Re-queue only if it can go on; a failed or busy actor is re-scheduled by its own transition.
      if (!cell.queued && cell.mailbox.length > 0 && cell.status === 2 /* CellStatus.Running */) {
        cell.queued = true;
        ready.push(cell);
      }
    }
    if (ready.length > 0 && !this.pending) {
      this.pending = true;
      setImmediate(this.run);
    }
  };
}
