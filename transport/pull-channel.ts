import { Pull } from 'zeromq';
import { watchHandshakes, type CurveServer, type HandshakeRefusal } from './curve.ts';
import { curveServerSocket } from './zap.ts';

export interface PullOptions {
  readonly highWaterMark?: number;
  /**
   * How long a bind keeps retrying "Address already in use" (default 2 s). libzmq releases a
   * closed socket's port on its I/O thread after close() returns, so a new incarnation binding
   * the same port at once fails now and then (106 of 300 immediate rebinds here); retrying every
   * 2 ms bound all 300, the longest after 10 ms. A port another process holds still fails, after
   * this wait, with the same message.
   */
  readonly rebindWaitMs?: number;
  /** CURVE: only clients whose public key is in the allow-list get in (default: plain TCP). */
  readonly curve?: CurveServer;
  /** The socket's name in ZAP domains and refusals (e.g. `results`). */
  readonly name?: string;
  /** Told each client refused: not in the allow-list, no CURVE, or a failed handshake. */
  readonly onRefused?: (refusal: HandshakeRefusal) => void;
}

const RETRY_EVERY_MS = 2;

/** A bound PULL socket. Binding to port 0 or `*` picks an ephemeral port; `endpoint` tells which. */
export class PullChannel {
  private constructor(
    private readonly socket: Pull,
    readonly endpoint: string,
    private readonly unregister: () => void,
  ) {}

  static async bind(endpoint: string, options: PullOptions = {}): Promise<PullChannel> {
    let bound = endpoint;
    const onRefused = (r: HandshakeRefusal) => options.onRefused?.(r);
    const curve = options.curve ? await curveServerSocket(options.curve, options.name ?? 'result', () => bound, onRefused) : undefined;
    const socket = new Pull({ linger: 0, receiveHighWaterMark: options.highWaterMark ?? 10_000, ...curve?.options });
    if (curve) watchHandshakes(socket, () => bound, 'server', onRefused);
    const release = () => curve?.release();
    const address = endpoint.replace(/:0$/, ':*');
    // Monotonic: a wall-clock step must not cut the wait short or stretch it.
    const deadline = performance.now() + (options.rebindWaitMs ?? 2_000);
    for (;;) {
      try {
        await socket.bind(address);
        break;
      } catch (e) {
        const inUse = (e as { code?: string }).code === 'EADDRINUSE';
        if (!inUse || performance.now() >= deadline) {
          socket.close();
          release();
          throw new Error(`cannot bind result socket ${endpoint}: ${(e as Error).message}`);
        }
        await new Promise((r) => setTimeout(r, RETRY_EVERY_MS));
      }
    }
    bound = socket.lastEndpoint ?? endpoint;
    return new PullChannel(socket, bound, release);
  }

  /** The next frame (first part of the next message). Rejects once the socket is closed. */
  async receive(): Promise<Buffer> {
    const [frame] = await this.socket.receive();
    return frame;
  }

  get closed(): boolean {
    return this.socket.closed;
  }

  close(): void {
    if (!this.socket.closed) this.socket.close();
    this.unregister();
  }
}
