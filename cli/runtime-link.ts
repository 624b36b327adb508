/**
 * How a command reaches the running runtime: its control endpoint, found through
 * `<db>.control.json`, and the token for mutations (--token, else $SHOAL_TOKEN, else the
 * `<db>.token` file). Light: node:http and node:fs only, so read commands start fast.
 */
import { callControl, refusalText, UnreachableError, type ControlReply } from '../app/control/client.ts';
import { discoverControl, type ControlAddress } from '../app/control/discovery.ts';
import { readTokenFile } from '../app/control/token.ts';
import { tokenFileOf } from '../app/control/settings.ts';

/** Exit code when no runtime is reachable (as systemctl status uses 3 for an inactive unit). */
export const NO_RUNTIME = 3;

export type Link = { readonly up: true; readonly address: ControlAddress } | { readonly up: false; readonly reason: string };

export function findRuntime(db: string): Link {
  const d = discoverControl(db);
  return d.found ? { up: true, address: d.address } : { up: false, reason: d.reason };
}

/** The token for the runtime of `db`: the flag, the variable, or the file beside the database. */
export function tokenFor(db: string, flag: string | undefined, env: Record<string, string | undefined>): string {
  if (flag !== undefined && flag !== '') return flag;
  if (env.SHOAL_TOKEN) return env.SHOAL_TOKEN;
  return readTokenFile(tokenFileOf(db));
}

/** A refusal by the runtime, as one line for the user, with the exit code it means. */
export class RefusedError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/**
 * One call; a 2xx answer's body, else a RefusedError (401/403: exit 2, the token is wrong or
 * missing; 400: exit 2; 404/409: exit 1; others: exit 1). Unreachable: UnreachableError.
 */
export async function call<T>(address: ControlAddress, method: 'GET' | 'POST', path: string, options: { token?: string; body?: unknown } = {}): Promise<T> {
  const token = options.token ?? undefined;
  const reply: ControlReply = await callControl(address, method, path, { ...options, token });
  if (reply.status >= 200 && reply.status < 300) return reply.body as T;
  const code = reply.status === 400 || reply.status === 401 || reply.status === 403 ? 2 : 1;
  throw new RefusedError(refusalText(reply), code);
}

export { UnreachableError };
