/**
 * A connection one of our sockets refused (or that refused us) becomes a failure event of kind
 * `connection_refused` in the store, which the service logs once it is durable (app/events.ts).
 * Every refusal is counted; the writes are limited by a token bucket (a flood of bad handshakes
 * must not become a flood of writes), and the refusals left unrecorded are counted into the next
 * record that goes through.
 */
import type { ActorPath, ActorSystem, Clock } from '../runtime/index.ts';
import { refill, type TokenBucket } from '../runtime/token-bucket.ts';
import { describeRefusal, type HandshakeRefusal } from '../transport/curve.ts';
import type { DbWriterMessage } from './db-writer.ts';

/** Records per second at most, and the burst. */
export const REFUSALS_PER_SEC = 1;
export const REFUSAL_BURST = 20;

/** The failure event's detail: the refusal, and how many before it were counted but not written. Pure. */
export function refusalDetail(r: HandshakeRefusal, unrecorded = 0): string {
  return `${describeRefusal(r)}${unrecorded > 0 ? `; ${unrecorded} earlier refusal(s) counted but not recorded` : ''}`;
}

export class RefusalStats {
  refused = 0;
  unrecorded = 0;
}

/** Turns refusals into failure events, counted always and written at most REFUSALS_PER_SEC. */
export class RefusalRecorder {
  private bucket: TokenBucket;
  private pendingUnrecorded = 0;

  constructor(
    private readonly system: ActorSystem,
    private readonly clock: Clock,
    private readonly writerPath: ActorPath<DbWriterMessage>,
    private readonly source: string,
    private readonly stats: RefusalStats,
  ) {
    this.bucket = { tokens: REFUSAL_BURST, at: clock.now() };
  }

  record(r: HandshakeRefusal): void {
    this.stats.refused++;
    this.bucket = refill(this.bucket, this.clock.now(), REFUSALS_PER_SEC, REFUSAL_BURST);
    if (this.bucket.tokens < 1) {
      this.stats.unrecorded++;
      this.pendingUnrecorded++;
      return;
    }
    const writer = this.system.lookup(this.writerPath);
    // No writer (the pipeline is restarting): the refusal stays counted, and the next record says so.
    if (!writer) {
      this.stats.unrecorded++;
      this.pendingUnrecorded++;
      return;
    }
    this.bucket = { ...this.bucket, tokens: this.bucket.tokens - 1 };
    const detail = refusalDetail(r, this.pendingUnrecorded);
    this.pendingUnrecorded = 0;
    writer.tell({ kind: 'write', commands: [{ type: 'recordFailure', kind: 'connection_refused', source: this.source, detail }] });
  }
}
