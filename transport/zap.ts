/**
 * The ZAP handler (ZeroMQ RFC 27) that checks CURVE clients against allow-lists. libzmq asks it,
 * over inproc://zeromq.zap.01 in the sockets' context, whether a client that completed the CURVE
 * handshake may in; one handler serves every CURVE server socket of the process, each under its
 * own ZAP domain with its own allow-list. It runs while at least one domain is registered (a
 * pending receive would keep the process alive) and must be bound before such a socket binds;
 * the socket enforces its domain, so a missing handler refuses clients rather than admitting all.
 */
import { Router } from 'zeromq';
import { curveProblems, curveSocketOptions, z85Encode, type CurveServer, type HandshakeRefusal } from './curve.ts';

export const ZAP_ENDPOINT = 'inproc://zeromq.zap.01';

/** One ZAP request, as the frames after the router's envelope give it. */
export interface ZapRequest {
  readonly version: string;
  readonly requestId: Buffer;
  readonly domain: string;
  readonly address: string;
  readonly mechanism: string;
  /** For CURVE, the client's public key (32 bytes). */
  readonly credentials: readonly Buffer[];
}

export interface ZapDomain {
  readonly allowedClientKeys: ReadonlySet<string>;
  /** The socket's endpoint, for the refusal it is told. */
  readonly endpoint: () => string;
  readonly onRefused: (refusal: HandshakeRefusal) => void;
}

export interface ZapVerdict {
  readonly status: '200' | '400' | '500';
  readonly text: string;
  /** The client's key as Z85 text, when the request carried one. */
  readonly clientKey?: string;
}

/** The answer to one request, from the registered domains (pure). Anything unexpected is refused. */
export function zapVerdict(request: ZapRequest, domains: ReadonlyMap<string, Pick<ZapDomain, 'allowedClientKeys'>>): ZapVerdict {
  if (request.version !== '1.0') return { status: '500', text: `unsupported ZAP version ${request.version}` };
  const key = request.mechanism === 'CURVE' && request.credentials.length === 1 && request.credentials[0].length === 32 ? z85Encode(request.credentials[0]) : undefined;
  const domain = domains.get(request.domain);
  if (domain === undefined) return { status: '400', text: `unknown ZAP domain '${request.domain}'`, ...(key ? { clientKey: key } : {}) };
  if (key === undefined) return { status: '400', text: `mechanism ${request.mechanism} is not allowed; only CURVE clients with a listed key` };
  if (!domain.allowedClientKeys.has(key)) return { status: '400', text: 'client key not in the allow-list', clientKey: key };
  return { status: '200', text: 'OK', clientKey: key };
}

const REBIND_WAIT_MS = 2_000;

/** The process's ZAP handler; `register` starts it, the last `unregister` stops it. */
class ZapHandler {
  private readonly domains = new Map<string, ZapDomain>();
  private router: Router | undefined;
  private starting: Promise<void> | undefined;
  private next = 0;

  /**
   * Registers an allow-list under a new domain unique to this process (`name#n`) and resolves
   * with it once the handler is bound: the caller sets it on its socket (curveSocketOptions),
   * then binds. The function returned unregisters it; call it after closing the socket.
   */
  async register(name: string, domain: ZapDomain): Promise<{ domain: string; unregister: () => void }> {
    const id = `${name}#${++this.next}`;
    this.domains.set(id, domain);
    try {
      await this.ensureRunning();
    } catch (e) {
      this.domains.delete(id);
      throw e;
    }
    let registered = true;
    return {
      domain: id,
      unregister: () => {
        if (!registered) return;
        registered = false;
        this.domains.delete(id);
        if (this.domains.size === 0) this.stop();
      },
    };
  }

  private ensureRunning(): Promise<void> {
    if (this.router && !this.router.closed) return this.starting ?? Promise.resolve();
    const router = new Router({ linger: 0 });
    this.router = router;
    this.starting = bindRetrying(router).then(() => {
      if (this.router === router) void this.serve(router);
    });
    return this.starting;
  }

  private stop(): void {
    const router = this.router;
    this.router = undefined;
    this.starting = undefined;
    if (router && !router.closed) router.close();
  }

  private tellAll(reason: string): void {
    for (const d of this.domains.values()) d.onRefused({ endpoint: d.endpoint(), reason });
  }

  private async serve(router: Router): Promise<void> {
    try {
      for (;;) {
        const [identity, empty, version, requestId, domain, address, , mechanism, ...credentials] = await router.receive();
        const request: ZapRequest = { version: String(version), requestId, domain: String(domain), address: String(address), mechanism: String(mechanism), credentials };
        const verdict = zapVerdict(request, this.domains);
        await router.send([identity, empty, '1.0', requestId, verdict.status, verdict.text, verdict.status === '200' ? (verdict.clientKey ?? '') : '', '']);
        if (verdict.status === '200') continue;
        const target = this.domains.get(request.domain);
        target?.onRefused({ endpoint: target.endpoint(), peer: request.address, ...(verdict.clientKey ? { clientKey: verdict.clientKey } : {}), reason: verdict.text });
      }
    } catch (e) {
      // Closed by stop(): the end of this incarnation. Anything else leaves the CURVE servers
      // without their handler, which (zapEnforceDomain) refuses every client: say so, and start
      // a new handler for them.
      if (!router.closed) {
        this.tellAll(`the ZAP handler failed and is restarted; clients are refused meanwhile: ${(e as Error).message}`);
        if (this.router === router) this.stop();
        if (this.domains.size > 0) void this.ensureRunning().catch((err: Error) => this.tellAll(`the ZAP handler could not restart, every client is refused: ${err.message}`));
      }
    }
  }
}

/** libzmq releases a closed socket's inproc name on its own thread: a prompt rebind may find it taken. */
async function bindRetrying(router: Router): Promise<void> {
  // Monotonic: a wall-clock step must not cut the wait short or stretch it.
  const deadline = performance.now() + REBIND_WAIT_MS;
  for (;;) {
    try {
      await router.bind(ZAP_ENDPOINT);
      return;
    } catch (e) {
      if ((e as { code?: string }).code !== 'EADDRINUSE' || performance.now() >= deadline) {
        router.close();
        throw new Error(`cannot start the ZAP handler at ${ZAP_ENDPOINT}: ${(e as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 2));
    }
  }
}

/** The one handler of this process (one per ZeroMQ context; all our sockets use the default one). */
export const zapHandler = new ZapHandler();

/**
 * Everything a socket that binds needs for CURVE: the allow-list registered with the handler
 * (before the socket exists, so no client can come first), and the socket options that enforce
 * it. Call `release` once the socket is closed. Unusable settings throw one line.
 */
export async function curveServerSocket(curve: CurveServer, name: string, endpoint: () => string, onRefused: (r: HandshakeRefusal) => void): Promise<{ options: Record<string, unknown>; release: () => void }> {
  const problems = curveProblems(curve);
  if (problems.length > 0) throw new Error(`cannot use CURVE on the ${name} socket: ${problems.join('; ')}`);
  const zap = await zapHandler.register(name, { allowedClientKeys: new Set(curve.allowedClientKeys), endpoint, onRefused });
  return { options: curveSocketOptions(curve, zap.domain), release: zap.unregister };
}
