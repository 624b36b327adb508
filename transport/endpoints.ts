/**
 * Where the backtest service lives, as the trading host configures it: requests go to
 * tcp://$SWIMMY_ZMQ_HOST:$SWIMMY_PORT_BACKTEST_REQ (the service binds), results come back to
 * tcp://127.0.0.1:$SWIMMY_PORT_BACKTEST_RES (we bind; the service connects to localhost there),
 * or every interface (`*`) when `loopbackOnly` is false. Pure: the environment is passed in.
 */
export interface Endpoints {
  /** The service's request socket, which our PUSH connects to. */
  readonly requests: string;
  /** Our result socket, which the service's PUSH connects to and our PULL binds. */
  readonly results: string;
}

export const DEFAULT_REQUEST_PORT = 5580;
export const DEFAULT_RESULT_PORT = 5581;

function port(env: Record<string, string | undefined>, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65_535) throw new RangeError(`${name} must be a TCP port (1-65535), got '${raw}'`);
  return n;
}

export function endpointsFromEnv(env: Record<string, string | undefined> = process.env, options: { loopbackOnly?: boolean } = {}): Endpoints {
  const host = env.SWIMMY_ZMQ_HOST && env.SWIMMY_ZMQ_HOST !== '' ? env.SWIMMY_ZMQ_HOST : 'localhost';
  if (/[\s/]/.test(host)) throw new RangeError(`SWIMMY_ZMQ_HOST must be a host name or address, got '${host}'`);
  const req = port(env, 'SWIMMY_PORT_BACKTEST_REQ', DEFAULT_REQUEST_PORT);
  const res = port(env, 'SWIMMY_PORT_BACKTEST_RES', DEFAULT_RESULT_PORT);
  return { requests: `tcp://${host}:${req}`, results: `tcp://${options.loopbackOnly === false ? '*' : '127.0.0.1'}:${res}` };
}

/** Bridge mode: where the backtest service is moved to (its SWIMMY_PORT_* set to these), the host keeping 5580/5581. */
export const BRIDGE_SERVICE_REQUEST_PORT = 5590;
export const BRIDGE_SERVICE_RESULT_PORT = 5591;

export interface BridgeEndpoints {
  /** Where the host PUSHes its requests: the intake's PULL binds it (tcp://*:$SWIMMY_PORT_BACKTEST_REQ). */
  readonly intake: string;
  /** The host's result socket: the forwarder's PUSH connects to it (tcp://$SWIMMY_ZMQ_HOST:$SWIMMY_PORT_BACKTEST_RES). */
  readonly hostResults: string;
  /** The moved service's request socket (tcp://localhost:5590) and shoal's result socket for it (tcp://*:5591). */
  readonly service: Endpoints;
}

/**
 * The bridge's endpoints: it takes the host's places (the host's variables name them, as the
 * host reads them) and talks to the service on the moved ports. Pure.
 */
export function bridgeEndpointsFromEnv(env: Record<string, string | undefined> = process.env, options: { loopbackOnly?: boolean } = {}): BridgeEndpoints {
  const host = endpointsFromEnv(env);
  const hostName = /^tcp:\/\/(.+):\d+$/.exec(host.requests)![1];
  const resPort = /:(\d+)$/.exec(host.results)![1];
  const reqPort = /:(\d+)$/.exec(host.requests)![1];
  return {
    // Where the host already PUSHes: every interface, as the host's own service binds it.
    intake: `tcp://*:${reqPort}`,
    hostResults: `tcp://${hostName}:${resPort}`,
    service: { requests: `tcp://localhost:${BRIDGE_SERVICE_REQUEST_PORT}`, results: `tcp://${options.loopbackOnly ? '127.0.0.1' : '*'}:${BRIDGE_SERVICE_RESULT_PORT}` },
  };
}
