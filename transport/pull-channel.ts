import { Pull } from 'zeromq';

export interface PullOptions {
  readonly highWaterMark?: number;
}

/** A bound PULL socket. Binding to port 0 or `*` picks an ephemeral port; `endpoint` tells which. */
export class PullChannel {
  private constructor(private readonly socket: Pull, readonly endpoint: string) {}

  static async bind(endpoint: string, options: PullOptions = {}): Promise<PullChannel> {
    const socket = new Pull({ linger: 0, receiveHighWaterMark: options.highWaterMark ?? 10_000 });
    try {
      await socket.bind(endpoint.replace(/:0$/, ':*'));
    } catch (e) {
      socket.close();
      throw new Error(`cannot bind result socket ${endpoint}: ${(e as Error).message}`);
    }
    return new PullChannel(socket, socket.lastEndpoint ?? endpoint);
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
  }
}
