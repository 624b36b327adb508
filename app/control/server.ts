/**
 * A small JSON-over-HTTP server (node:http, no framework) for the control endpoint. The routes are
 * data (control/routes.ts); this is the mechanism: matching, the bearer token, a body size limit,
 * a time limit per request, and one error shape, `{ "error": { "code", "message" } }`. Nothing a
 * client sends can crash the process: a failing handler is a 500, counted and reported through
 * `onFailure`; a malformed request is a 400, counted.
 */
import { chmodSync, lstatSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bearerToken, tokenMatches } from './token.ts';

export type Method = 'GET' | 'POST';

export interface RouteRequest {
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** The parsed JSON body of a POST ({} when empty). */
  readonly body: unknown;
}

export interface Route {
  readonly method: Method;
  /** A path whose `:name` segments are parameters, e.g. /v1/dead-letters/:id. */
  readonly path: string;
  /** `write` routes change something: they always need the token. */
  readonly access: 'read' | 'write';
  readonly handle: (req: RouteRequest) => unknown;
}

/** A refusal with its HTTP status, a stable code and one line for a person. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Counters of the endpoint, for /v1/metrics and the log. */
export class ControlStats {
  requests = 0;
  /** Answers by HTTP status. */
  readonly byStatus: Record<string, number> = {};
  /** No token where one is needed (401). */
  unauthorized = 0;
  /** A wrong token (403). */
  forbidden = 0;
  tooLarge = 0;
  timeouts = 0;
  /** Handlers that threw (500). */
  failures = 0;
  /** Requests that were not HTTP at all, or not parseable (dropped by the parser with a 400). */
  malformed = 0;
  /** Requests whose client closed the connection before its body was complete. */
  aborted = 0;
}

export type Match =
  | { readonly route: Route; readonly params: Record<string, string> }
  /** A path segment whose %-escapes do not decode. */
  | { readonly status: 400 }
  | { readonly status: 404 }
  | { readonly status: 405; readonly allow: readonly Method[] };

/** Which route takes a request (pure): a path no route has is 404, a known path with another method 405, a parameter that is not valid %-encoding 400. */
export function matchRoute(routes: readonly Route[], method: string, pathname: string): Match {
  const segments = pathname.split('/');
  const allow: Method[] = [];
  for (const route of routes) {
    const pattern = route.path.split('/');
    if (pattern.length !== segments.length) continue;
    const params: Record<string, string> = {};
    let undecodable = false;
    const same = pattern.every((p, i) => {
      if (p.startsWith(':')) {
        if (segments[i] === '') return false;
        try {
          params[p.slice(1)] = decodeURIComponent(segments[i]);
        } catch {
          undecodable = true;
        }
        return true;
      }
      return p === segments[i];
    });
    if (same && undecodable) return { status: 400 };
    if (!same) continue;
    if (route.method === method) return { route, params };
    allow.push(route.method);
  }
  return allow.length > 0 ? { status: 405, allow } : { status: 404 };
}

export type Listen = { readonly host: string; readonly port: number } | { readonly socket: string };

export interface ControlServerOptions {
  readonly routes: readonly Route[];
  readonly listen: Listen;
  readonly token: string;
  /** Reads need the token too (a remote bind). */
  readonly readsNeedToken: boolean;
  readonly maxBodyBytes: number;
  readonly requestTimeoutMs: number;
  readonly stats: ControlStats;
  /** Told a handler's failure (it has been answered with a 500). */
  readonly onFailure: (error: unknown, context: { method: string; path: string }) => void;
}

export interface ControlServer {
  /** http://HOST:PORT, for TCP. */
  readonly url?: string;
  readonly socket?: string;
  close(): Promise<void>;
}

function send(res: ServerResponse, stats: ControlStats, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.writableEnded) return;
  stats.byStatus[status] = (stats.byStatus[status] ?? 0) + 1;
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  res.end(text);
}

function fail(res: ServerResponse, stats: ControlStats, e: HttpError, headers: Record<string, string> = {}): void {
  send(res, stats, e.status, { error: { code: e.code, message: e.message } }, headers);
}

/** The body as text, refused past `max` bytes (by its declared length, or as it streams). */
function readBody(req: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    const tooLarge = () => new HttpError(413, 'body_too_large', `the request body is over the limit of ${max} bytes`);
    if (declared > max) return reject(tooLarge());
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        req.removeAllListeners('data');
        req.resume();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    // The client went away mid-body (its own doing, not the runtime's): a client error, counted as such.
    req.on('error', (e) => reject(new HttpError(400, 'body_incomplete', `the connection closed before the whole body arrived (${e.message})`)));
  });
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, 'bad_json', `the request body is not JSON: ${(e as Error).message.split('\n')[0]}`);
  }
}

export async function serveControl(options: ControlServerOptions): Promise<ControlServer> {
  const { stats } = options;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    stats.requests++;
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://control');
    } catch {
      // A target such as `//` is no path at all (the URL parser reads an empty host).
      req.resume();
      return fail(res, stats, new HttpError(400, 'bad_target', `the request target is not a path: ${JSON.stringify((req.url ?? '').slice(0, 100))}`));
    }
    const match = matchRoute(options.routes, req.method ?? '', url.pathname);
    if ('status' in match) {
      req.resume();
      if (match.status === 400) return fail(res, stats, new HttpError(400, 'bad_target', `the request path is not valid %-encoding: ${JSON.stringify(url.pathname.slice(0, 100))}`));
      if (match.status === 405) return fail(res, stats, new HttpError(405, 'method_not_allowed', `${req.method} is not allowed on ${url.pathname}; use ${match.allow.join(' or ')}`), { allow: match.allow.join(', ') });
      return fail(res, stats, new HttpError(404, 'not_found', `no route ${url.pathname} (the routes are listed in docs/operations.md)`));
    }
    const { route, params } = match;
    if (route.access === 'write' || options.readsNeedToken) {
      const given = bearerToken(req.headers.authorization);
      if (given === undefined) {
        stats.unauthorized++;
        req.resume();
        return fail(res, stats, new HttpError(401, 'unauthorized', 'this route needs the control token: Authorization: Bearer <token> (the <db>.token file beside the database)'), { 'www-authenticate': 'Bearer' });
      }
      if (!tokenMatches(given, options.token)) {
        stats.forbidden++;
        req.resume();
        return fail(res, stats, new HttpError(403, 'forbidden', 'the control token is wrong'));
      }
    }
    const body = route.method === 'POST' ? parseJson(await readBody(req, options.maxBodyBytes)) : (req.resume(), undefined);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new HttpError(503, 'timeout', `the runtime did not answer within ${options.requestTimeoutMs} ms`)), options.requestTimeoutMs);
    });
    try {
      const result = await Promise.race([Promise.resolve().then(() => route.handle({ params, query: url.searchParams, body })), timeout]);
      send(res, stats, 200, result);
    } finally {
      clearTimeout(timer);
    }
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (e instanceof HttpError) {
        if (e.status === 413) stats.tooLarge++;
        if (e.code === 'timeout') stats.timeouts++;
        if (e.code === 'body_incomplete') stats.aborted++;
        // A refused body is not read any further: the connection goes with the answer.
        return fail(res, stats, e, e.status === 413 ? { connection: 'close' } : {});
      }
      stats.failures++;
      try {
        options.onFailure(e, { method: req.method ?? '', path: req.url ?? '' });
      } catch {
        // The report of a failure must not become one.
      }
      fail(res, stats, new HttpError(500, 'internal', `the request failed inside the runtime: ${e instanceof Error ? e.message : String(e)}`));
    });
  });
  server.on('clientError', (_err, socket) => {
    stats.malformed++;
    if (socket.writable) {
      const text = `${JSON.stringify({ error: { code: 'bad_request', message: 'malformed HTTP request' } })}\n`;
      socket.end(`HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`);
    } else socket.destroy();
  });
  // A slow client cannot hold a connection open: headers and the whole request have deadlines.
  server.requestTimeout = options.requestTimeoutMs;
  server.headersTimeout = Math.min(options.requestTimeoutMs, 60_000);
  server.maxConnections = 64;

  const listen = options.listen;
  if ('socket' in listen) removeStaleSocket(listen.socket);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const done = () => {
      server.off('error', reject);
      resolve();
    };
    if ('socket' in listen) server.listen(listen.socket, done);
    else server.listen(listen.port, listen.host, done);
  });
  let url: string | undefined;
  if ('socket' in listen) chmodSync(listen.socket, 0o600);
  else {
    const a = server.address() as AddressInfo;
    url = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  }
  return {
    ...(url !== undefined ? { url } : { socket: (listen as { socket: string }).socket }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A socket file left by a killed runtime would make listen fail; anything else at the path is kept (listen then says so). */
function removeStaleSocket(path: string): void {
  try {
    if (lstatSync(path).isSocket()) rmSync(path);
  } catch {
    // Nothing there.
  }
}
