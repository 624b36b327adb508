/**
 * The control endpoint of a running Shoal: the OOS routes served on loopback or a Unix socket,
 * the token from the configuration or the `<db>.token` file (created at the first start), and the
 * `<db>.control.json` address the CLI finds it by, removed again on a clean stop.
 */
import { openStore } from '../../persistence/connection.ts';
import type { Shoal } from '../shoal.ts';
import { removeControlFile, writeControlFile } from './discovery.ts';
import { oosControlRoutes } from './routes.ts';
import { ControlStats, serveControl } from './server.ts';
import { isLoopback, tokenFileOf, type ControlSettings } from './settings.ts';
import { ensureTokenFile } from './token.ts';

export interface ControlEndpoint {
  readonly url?: string;
  readonly socket?: string;
  readonly stats: ControlStats;
  /** Where the token is (the file), or 'config'. */
  readonly tokenFrom: string;
  close(): Promise<void>;
}

export interface ControlEndpointOptions {
  /** Told a route's failure (answered 500, counted). */
  readonly onFailure?: (error: unknown, context: { method: string; path: string }) => void;
}

export async function startControlEndpoint(shoal: Shoal, settings: ControlSettings, options: ControlEndpointOptions = {}): Promise<ControlEndpoint> {
  const tokenFile = tokenFileOf(shoal.config.dbPath);
  const token = settings.token ?? ensureTokenFile(tokenFile);
  const readsNeedToken = settings.socket === undefined && !isLoopback(settings.host);
  const stats = new ControlStats();
  const reader = openStore({ path: shoal.config.dbPath, readonly: true });
  let address: { url?: string; socket?: string } = {};
  try {
    const server = await serveControl({
      routes: oosControlRoutes({ shoal, reader, stats, address: () => address }),
      listen: settings.socket !== undefined ? { socket: settings.socket } : { host: settings.host, port: settings.port },
      token,
      readsNeedToken,
      maxBodyBytes: settings.maxBodyBytes,
      requestTimeoutMs: settings.requestTimeoutMs,
      stats,
      onFailure: options.onFailure ?? (() => undefined),
    });
    address = server.url !== undefined ? { url: server.url } : { socket: server.socket };
    writeControlFile(shoal.config.dbPath, { pid: process.pid, ...address, startedAt: Date.now(), readsNeedToken });
    let closed = false;
    return {
      ...address,
      stats,
      tokenFrom: settings.token !== undefined ? 'config' : tokenFile,
      close: async () => {
        if (closed) return;
        closed = true;
        removeControlFile(shoal.config.dbPath);
        await server.close();
        reader.close();
      },
    };
  } catch (e) {
    reader.close();
    const where = settings.socket ?? `${settings.host}:${settings.port}`;
    throw new Error(`the control endpoint cannot listen on ${where}: ${(e as Error).message}`, { cause: e });
  }
}
