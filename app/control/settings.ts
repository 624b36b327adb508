/**
 * The control endpoint's settings: the `control` configuration key with its defaults filled in,
 * and the rule for where it may listen. Pure.
 */
import { isIP } from 'node:net';
import { ConfigError } from '../config-schema.ts';

export interface ControlSettings {
  readonly enabled: boolean;
  /** TCP: host and port (0 = a free port). Ignored when `socket` is set. */
  readonly host: string;
  readonly port: number;
  /** A Unix socket path instead of TCP. */
  readonly socket?: string;
  /** Binding anything but loopback needs this; every route then needs the token. */
  readonly allowRemote: boolean;
  /** The bearer token from the configuration, if given there (a secret); else the `<dbPath>.token` file (tokenFileOf). */
  readonly token?: string;
  readonly maxBodyBytes: number;
  readonly requestTimeoutMs: number;
}

export const CONTROL_DEFAULTS = { enabled: true, host: '127.0.0.1', port: 0, allowRemote: false, maxBodyBytes: 64 * 1024, requestTimeoutMs: 10_000 } as const;

/** The token file of a database: beside it, like the lock and the spool. */
export function tokenFileOf(dbPath: string): string {
  return `${dbPath}.token`;
}

/** Whether a host name or address is this machine only (127.0.0.0/8, ::1, localhost). */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '');
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^::ffff:127\./i.test(h);
  return false;
}

/** The `control` key (already checked by the schema) with defaults; refuses a remote bind that was not allowed. */
export function controlSettings(input: Readonly<Record<string, unknown>> | undefined): ControlSettings {
  const c = { ...CONTROL_DEFAULTS, ...Object.fromEntries(Object.entries(input ?? {}).filter(([, v]) => v !== undefined)) } as typeof CONTROL_DEFAULTS & { socket?: string; token?: string };
  if (c.socket === undefined && !isLoopback(c.host) && !c.allowRemote) {
    throw new ConfigError(`configuration key 'control.host' is ${c.host}, not loopback: set control.allowRemote to true to serve the control endpoint beyond this machine (every route then needs the token)`);
  }
  return {
    enabled: c.enabled,
    host: c.host,
    port: c.port,
    ...(c.socket !== undefined ? { socket: c.socket } : {}),
    allowRemote: c.allowRemote,
    ...(c.token !== undefined ? { token: c.token } : {}),
    maxBodyBytes: c.maxBodyBytes,
    requestTimeoutMs: c.requestTimeoutMs,
  };
}
