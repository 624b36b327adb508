/**
 * ZeroMQ CURVE for any socket: a socket that binds is a CURVE server (it has a key pair and lets
 * in only the client keys of its allow-list, checked by the ZAP handler in zap.ts), a socket that
 * connects is a CURVE client (it has a key pair and must know the server's public key). Plain TCP
 * (no `curve` option) stays the default. Keys are 40-character Z85 text, as `zmq.curveKeyPair()`
 * and `shoal keys generate` give them.
 */
import type { Socket } from 'zeromq';

export interface CurveKeyPair {
  readonly publicKey: string;
  /** Never logged, never in an error message. */
  readonly secretKey: string;
}

/** The side that binds: clients must present a key of `allowedClientKeys`. */
export interface CurveServer {
  readonly role: 'server';
  readonly keys: CurveKeyPair;
  readonly allowedClientKeys: readonly string[];
}

/** The side that connects: it proves its own key and checks the server's. */
export interface CurveClient {
  readonly role: 'client';
  readonly keys: CurveKeyPair;
  readonly serverKey: string;
}

export type Curve = CurveServer | CurveClient;

/**
 * A connection a socket refused, or that refused us: the socket's endpoint, the peer's address
 * and public key when ZeroMQ tells them (the ZAP handler does; a failed handshake's monitor event
 * only names our endpoint), and why.
 */
export interface HandshakeRefusal {
  readonly endpoint: string;
  readonly peer?: string;
  readonly clientKey?: string;
  readonly reason: string;
}

/** One line for a refusal: where, why, and who (address and public key, never a secret) when known. Pure. */
export function describeRefusal(r: HandshakeRefusal): string {
  const who = [r.peer ? `peer ${r.peer}` : undefined, r.clientKey ? `key ${r.clientKey}` : undefined].filter(Boolean).join(', ');
  return `handshake on ${r.endpoint} refused: ${r.reason}${who ? ` (${who})` : ''}`;
}

const Z85_ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';
const Z85_KEY = /^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/;

/** Whether `text` is a CURVE key as Z85 text (40 characters of the Z85 alphabet: 32 bytes). */
export function isZ85Key(text: unknown): text is string {
  return typeof text === 'string' && Z85_KEY.test(text);
}

/**
 * Z85 text of bytes (a length divisible by 4), as ZeroMQ's RFC 32 defines it. The ZAP handler is
 * given a client's key as 32 raw bytes; zeromq.js has no encoder for it.
 */
export function z85Encode(bytes: Uint8Array): string {
  if (bytes.length % 4 !== 0) throw new RangeError(`Z85 encodes 4-byte groups, got ${bytes.length} bytes`);
  let out = '';
  for (let i = 0; i < bytes.length; i += 4) {
    let value = ((bytes[i] << 24) >>> 0) + (bytes[i + 1] << 16) + (bytes[i + 2] << 8) + bytes[i + 3];
    let group = '';
    for (let j = 0; j < 5; j++) {
      group = Z85_ALPHABET[value % 85] + group;
      value = Math.floor(value / 85);
    }
    out += group;
  }
  return out;
}

/**
 * The zeromq socket options for CURVE. A server names its ZAP domain (so the ZAP handler knows
 * whose allow-list applies) and enforces it: without a running ZAP handler libzmq would let any
 * key in; with `zapEnforceDomain` the handshake fails instead.
 */
export function curveSocketOptions(curve: Curve, zapDomain?: string): Record<string, unknown> {
  const keys = { curvePublicKey: curve.keys.publicKey, curveSecretKey: curve.keys.secretKey };
  if (curve.role === 'client') return { ...keys, curveServerKey: curve.serverKey };
  if (zapDomain === undefined || zapDomain === '') throw new Error('a CURVE server socket needs its ZAP domain');
  return { ...keys, curveServer: true, zapDomain, zapEnforceDomain: true };
}

/** Problems with a CURVE option, each one line naming the field; empty when it is usable. */
export function curveProblems(curve: Curve): string[] {
  const problems: string[] = [];
  if (!isZ85Key(curve.keys.publicKey)) problems.push('the public key is not a 40-character Z85 key');
  // The secret is never echoed, not even in part.
  if (!isZ85Key(curve.keys.secretKey)) problems.push('the secret key is not a 40-character Z85 key');
  if (curve.role === 'client' && !isZ85Key(curve.serverKey)) problems.push(`the server's public key is not a 40-character Z85 key, got '${curve.serverKey}'`);
  if (curve.role === 'server') {
    if (curve.allowedClientKeys.length === 0) problems.push('the allow-list of client keys is empty: no client could connect');
    for (const k of curve.allowedClientKeys) if (!isZ85Key(k)) problems.push(`allowed client key '${k}' is not a 40-character Z85 key`);
  }
  return problems;
}

/** Why a handshake failed, from the socket monitor's event (the ZMTP error code when there is one). */
function monitorReason(type: string, error: { message?: string; code?: string } | undefined): string {
  const code = error?.code;
  if (code === 'ERR_ZMTP_MECHANISM_MISMATCH') return 'the peer does not use CURVE (security mechanism mismatch)';
  if (type === 'handshake:error:auth') return 'authentication failed';
  // The peer saw our greeting and hung up first (a plain client does, as may one with another server key).
  if (code === 'EPIPE' || code === 'ECONNRESET') return `the peer closed the connection during the handshake (${code}): it may not use CURVE, or expect another key`;
  if (type === 'handshake:error:other' && code === 'EFAULT') return 'no ZAP handler to check the client key';
  return `the handshake failed${code ? ` (${code})` : ''}${error?.message ? `: ${error.message}` : ''}`;
}

/**
 * Tells `onRefused` of every handshake this socket failed. On a server, a client the allow-list
 * refused is told by the ZAP handler (with its address and key), so auth failures are skipped
 * here to count each refusal once; a client without CURVE or with a wrong server key only shows
 * up here.
 */
export function watchHandshakes(socket: Socket, endpoint: () => string, role: Curve['role'], onRefused: (r: HandshakeRefusal) => void): void {
  for (const type of ['handshake:error:auth', 'handshake:error:protocol', 'handshake:error:other'] as const) {
    if (role === 'server' && type === 'handshake:error:auth') continue;
    socket.events.on(type, (e) => onRefused({ endpoint: endpoint(), reason: monitorReason(type, e.error as { message?: string; code?: string }) }));
  }
}
