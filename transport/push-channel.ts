import { Push } from 'zeromq';
import { curveProblems, curveSocketOptions, watchHandshakes, type CurveClient, type HandshakeRefusal } from './curve.ts';

export interface PushOptions {
  /** How long one send may wait for a peer or for room under the high-water mark (finite, so a dead service never blocks us). */
  readonly sendTimeoutMs?: number;
  readonly highWaterMark?: number;
  /** Told the number of connected peers whenever it changes (the service came or went). */
  readonly onPeers?: (peers: number) => void;
  /** CURVE: our key pair and the server's public key (default: plain TCP). */
  readonly curve?: CurveClient;
  /** Told each failed handshake with the peer (it refused our key, or does not speak CURVE). */
  readonly onRefused?: (refusal: HandshakeRefusal) => void;
}

export class SendError extends Error {
  override readonly name = 'SendError';
  constructor(readonly endpoint: string, readonly code: string, detail: string) {
    super(`send to ${endpoint} failed (${code}): ${detail}`);
  }
}

/**
 * A connected PUSH socket with the options the review asked for: `immediate` (queue only to
 * connected peers, so a missing service is an error rather than a silent backlog), a finite send
 * timeout, linger 0 (closing never hangs) and a high-water mark. zeromq.js allows one pending
 * send per socket (a second concurrent send fails with EBUSY), so this class refuses overlap.
 */
export class PushChannel {
  private readonly socket: Push;
  private pending = false;
  sent = 0;
  failed = 0;
  /** Peers that completed the ZeroMQ handshake and have not disconnected. */
  peers = 0;

  constructor(readonly endpoint: string, options: PushOptions = {}) {
    const problems = options.curve ? curveProblems(options.curve) : [];
    if (problems.length > 0) throw new Error(`cannot connect to ${endpoint} with CURVE: ${problems.join('; ')}`);
    this.socket = new Push({
      ...(options.curve ? curveSocketOptions(options.curve) : {}),
      immediate: true,
      linger: 0,
      sendTimeout: options.sendTimeoutMs ?? 100,
      sendHighWaterMark: options.highWaterMark ?? 1_000,
    });
    this.socket.events.on('handshake', () => {
      this.peers++;
      options.onPeers?.(this.peers);
    });
    this.socket.events.on('disconnect', () => {
      this.peers = Math.max(0, this.peers - 1);
      options.onPeers?.(this.peers);
    });
    if (options.curve) watchHandshakes(this.socket, () => endpoint, 'client', (r) => options.onRefused?.(r));
    this.socket.connect(endpoint);
  }

  get busy(): boolean {
    return this.pending;
  }

  async send(frame: string | Buffer): Promise<void> {
    if (this.pending) throw new SendError(this.endpoint, 'EBUSY', 'a send is already pending on this socket');
    this.pending = true;
    try {
      await this.socket.send(frame);
      this.sent++;
    } catch (e) {
      this.failed++;
      const code = (e as { code?: string }).code ?? 'EUNKNOWN';
      throw new SendError(this.endpoint, code, code === 'EAGAIN' ? 'no connected peer or peer not keeping up within the send timeout' : (e as Error).message);
    } finally {
      this.pending = false;
    }
  }

  close(): void {
    if (!this.socket.closed) this.socket.close();
  }
}
