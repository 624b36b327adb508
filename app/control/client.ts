/**
 * A client of the control endpoint (node:http only, so CLI commands that use it start fast):
 * one JSON request, to a URL or a Unix socket, with a deadline.
 */
import { request } from 'node:http';
import type { ControlAddress } from './discovery.ts';

export interface ControlReply {
  readonly status: number;
  /** The parsed JSON body (an `{ error: { code, message } }` for a refusal). */
  readonly body: unknown;
}

/** The runtime could not be reached at all (refused, gone, timed out): the CLI's exit code 3. */
export class UnreachableError extends Error {}

export interface CallOptions {
  readonly token?: string;
  readonly body?: unknown;
  readonly timeoutMs?: number;
}

export function callControl(address: Pick<ControlAddress, 'url' | 'socket'>, method: string, path: string, options: CallOptions = {}): Promise<ControlReply> {
  const text = options.body === undefined ? undefined : JSON.stringify(options.body);
  const headers: Record<string, string | number> = { accept: 'application/json' };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  if (text !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = Buffer.byteLength(text);
  }
  const where = address.socket ?? address.url ?? '';
  const target = address.socket !== undefined ? { socketPath: address.socket, path } : (() => {
    const u = new URL(path, address.url);
    return { hostname: u.hostname.replace(/^\[|\]$/g, ''), port: u.port, path: `${u.pathname}${u.search}` };
  })();
  return new Promise((resolve, reject) => {
    const req = request({ ...target, method, headers, timeout: options.timeoutMs ?? 15_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        try {
          resolve({ status: res.statusCode ?? 0, body: raw === '' ? null : JSON.parse(raw) });
        } catch {
          reject(new Error(`the control endpoint at ${where} answered ${res.statusCode} with a body that is not JSON`));
        }
      });
      res.on('error', (e) => reject(new UnreachableError(`the control endpoint at ${where} broke off its answer: ${e.message}`)));
    });
    req.on('timeout', () => req.destroy(new UnreachableError(`the control endpoint at ${where} did not answer within ${options.timeoutMs ?? 15_000} ms`)));
    req.on('error', (e) => reject(e instanceof UnreachableError ? e : new UnreachableError(`cannot reach the control endpoint at ${where}: ${(e as NodeJS.ErrnoException).code ?? e.message}`)));
    req.end(text);
  });
}

/** The one-line text of a refusal body, or the status. */
export function refusalText(reply: ControlReply): string {
  const e = (reply.body as { error?: { code?: string; message?: string } } | null)?.error;
  return e?.message ? `${e.message} (${reply.status} ${e.code ?? ''})`.replace(/ \)$/, ')') : `HTTP ${reply.status}`;
}
