/**
 * CURVE on our sockets, with real sockets on 127.0.0.1: a binding socket lets in only the client
 * keys of its allow-list (the ZAP handler), a client without CURVE or with another key is refused
 * and the refusal is told with the peer's address and key; a connecting socket checks the
 * server's key. The pure parts (Z85, options, problems) are tested directly.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { curveKeyPair, Push } from 'zeromq';
import { curveProblems, curveSocketOptions, isZ85Key, z85Encode, type CurveServer, type HandshakeRefusal } from '../../transport/curve.ts';
import { PullChannel } from '../../transport/pull-channel.ts';
import { PushChannel } from '../../transport/push-channel.ts';
import { until } from '../wait.ts';

const server = curveKeyPair();
const client = curveKeyPair();
const stranger = curveKeyPair();

const closers: (() => void)[] = [];
afterEach(() => {
  while (closers.length > 0) closers.pop()!();
});

async function curvePull(refusals: HandshakeRefusal[], allowed = [client.publicKey]): Promise<PullChannel> {
  const curve: CurveServer = { role: 'server', keys: server, allowedClientKeys: allowed };
  const pull = await PullChannel.bind('tcp://127.0.0.1:0', { curve, name: 'test-results', onRefused: (r) => refusals.push(r) });
  closers.push(() => pull.close());
  return pull;
}

function push(endpoint: string, keys?: { publicKey: string; secretKey: string }, serverKey = server.publicKey, refusals?: HandshakeRefusal[], sendTimeoutMs = 20_000): PushChannel {
  const p = new PushChannel(endpoint, { sendTimeoutMs, ...(keys ? { curve: { role: 'client', keys, serverKey }, onRefused: (r) => refusals?.push(r) } : {}) });
  closers.push(() => p.close());
  return p;
}

describe('Z85 and the CURVE options (pure)', () => {
  // Rule: Z85 as ZeroMQ's RFC 32 defines it (its test vector), so a key from the ZAP handler matches the configured text.
  it('encodes the RFC 32 test vector, and a key pair from zeromq round-trips as 40 characters', () => {
    expect(z85Encode(Uint8Array.from([0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b]))).toBe('HelloWorld');
    expect(() => z85Encode(new Uint8Array(3))).toThrow(/4-byte groups/);
    expect(isZ85Key(server.publicKey)).toBe(true);
    expect(isZ85Key(server.publicKey.slice(1))).toBe(false);
    expect(isZ85Key(`${server.publicKey.slice(1)} `)).toBe(false);
  });

  // Rule: a CURVE server enforces its ZAP domain (no handler means refused, never admitted); a client names the server's key.
  it('gives server and client options; a server without a ZAP domain is a programming error', () => {
    expect(curveSocketOptions({ role: 'server', keys: server, allowedClientKeys: [client.publicKey] }, 'results#1')).toEqual({
      curvePublicKey: server.publicKey,
      curveSecretKey: server.secretKey,
      curveServer: true,
      zapDomain: 'results#1',
      zapEnforceDomain: true,
    });
    expect(curveSocketOptions({ role: 'client', keys: client, serverKey: server.publicKey })).toEqual({ curvePublicKey: client.publicKey, curveSecretKey: client.secretKey, curveServerKey: server.publicKey });
    expect(() => curveSocketOptions({ role: 'server', keys: server, allowedClientKeys: [] })).toThrow(/ZAP domain/);
  });

  // Rule: unusable CURVE settings are named one per line, and a secret key's text never appears in them.
  it('names each problem without showing the secret key', () => {
    const problems = curveProblems({ role: 'server', keys: { publicKey: 'short', secretKey: 'not-a-key-SECRET' }, allowedClientKeys: [] });
    expect(problems).toEqual([
      'the public key is not a 40-character Z85 key',
      'the secret key is not a 40-character Z85 key',
      'the allow-list of client keys is empty: no client could connect',
    ]);
    expect(problems.join(' ')).not.toContain('not-a-key-SECRET');
    expect(curveProblems({ role: 'client', keys: client, serverKey: 'x' })).toEqual(["the server's public key is not a 40-character Z85 key, got 'x'"]);
  });
});

describe('a CURVE result socket (real sockets on 127.0.0.1)', () => {
  // Rule: a client whose key is in the allow-list gets its frames in.
  it('receives from a client with an allowed key', async () => {
    const refusals: HandshakeRefusal[] = [];
    const pull = await curvePull(refusals);
    await push(pull.endpoint, client).send('hello');
    expect((await pull.receive()).toString()).toBe('hello');
    expect(refusals).toEqual([]);
  });

  // Rule: a client with a key not in the allow-list cannot inject a frame; the refusal names its address and key.
  it('refuses a client whose key is not allowed, telling its address and public key', async () => {
    const refusals: HandshakeRefusal[] = [];
    const pull = await curvePull(refusals);
    const intruderRefusals: HandshakeRefusal[] = [];
    // A short send timeout: its send can only fail, and should not keep the test waiting.
    const intruder = push(pull.endpoint, stranger, server.publicKey, intruderRefusals, 100);
    await until(() => refusals.some((r) => r.clientKey !== undefined), 'the ZAP handler to refuse the stranger');
    expect(refusals.find((r) => r.clientKey !== undefined)).toEqual({ endpoint: pull.endpoint, peer: '127.0.0.1', clientKey: stranger.publicKey, reason: 'client key not in the allow-list' });
    // The refused side is told too (its handshake failed on authentication).
    await until(() => intruderRefusals.some((r) => r.reason === 'authentication failed'), 'the stranger to see its handshake refused');
    // Nothing it sends reaches the socket: with no accepted peer the send cannot even be queued.
    await expect(intruder.send('forged')).rejects.toThrow(/EAGAIN|no connected peer/);
    // And a frame from an allowed client that follows is the first one received.
    await push(pull.endpoint, client).send('genuine');
    expect((await pull.receive()).toString()).toBe('genuine');
    // No secret key is ever part of a refusal.
    expect(JSON.stringify(refusals)).not.toContain(stranger.secretKey);
  });

  // Rule: a client without CURVE (plain TCP) is refused at the handshake, and the refusal is told.
  it('refuses a plain TCP client', async () => {
    const refusals: HandshakeRefusal[] = [];
    const pull = await curvePull(refusals);
    const plain = new Push({ linger: 0 });
    closers.push(() => plain.close());
    plain.connect(pull.endpoint);
    void plain.send('forged').catch(() => undefined);
    await until(() => refusals.length > 0, 'the result socket to refuse the plain client');
    // Which side notices the mismatch first is a race: either we read its greeting, or it hangs up on ours.
    expect(refusals[0]).toEqual({ endpoint: pull.endpoint, reason: expect.stringMatching(/the peer does not use CURVE \(security mechanism mismatch\)|the peer closed the connection during the handshake/) });
    await push(pull.endpoint, client).send('genuine');
    expect((await pull.receive()).toString()).toBe('genuine');
  });

  // Rule: a connecting socket checks the server's key: a server with another key is not talked to, and that is told.
  it('a client that expects another server key does not connect, and says so', async () => {
    const serverRefusals: HandshakeRefusal[] = [];
    const pull = await curvePull(serverRefusals);
    const clientRefusals: HandshakeRefusal[] = [];
    const wrongServer = push(pull.endpoint, client, stranger.publicKey, clientRefusals);
    await until(() => serverRefusals.length > 0 || clientRefusals.length > 0, 'the handshake with the wrong server key to fail');
    expect(wrongServer.peers).toBe(0);
  });

  // Rule: two CURVE sockets in one process keep their own allow-lists (one ZAP handler, one domain each).
  it('keeps each socket to its own allow-list', async () => {
    const a: HandshakeRefusal[] = [];
    const b: HandshakeRefusal[] = [];
    const pullA = await curvePull(a, [client.publicKey]);
    const pullB = await curvePull(b, [stranger.publicKey]);
    await push(pullA.endpoint, client).send('to A');
    await push(pullB.endpoint, stranger).send('to B');
    expect((await pullA.receive()).toString()).toBe('to A');
    expect((await pullB.receive()).toString()).toBe('to B');
    push(pullB.endpoint, client);
    await until(() => b.some((r) => r.clientKey === client.publicKey), 'B to refuse the key only A allows');
    expect(a.filter((r) => r.clientKey !== undefined)).toEqual([]);
  });

  // Rule: the ZAP handler stops with its last socket and starts again with the next one (a restarted actor binds again).
  it('works again after every CURVE socket was closed', async () => {
    for (let i = 0; i < 3; i++) {
      const refusals: HandshakeRefusal[] = [];
      const pull = await curvePull(refusals);
      await push(pull.endpoint, client).send(`round ${i}`);
      expect((await pull.receive()).toString()).toBe(`round ${i}`);
      while (closers.length > 0) closers.pop()!();
    }
  });
});
