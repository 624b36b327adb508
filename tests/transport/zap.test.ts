/**
 * The ZAP handler's decision, a pure function of the request and the registered allow-lists:
 * only a CURVE client whose key is in its socket's allow-list is let in; anything else (another
 * key, another mechanism, an unknown domain, another ZAP version) is refused with the reason.
 */
import { describe, expect, it } from 'vitest';
import { curveKeyPair } from 'zeromq';
import { zapVerdict, type ZapRequest } from '../../transport/zap.ts';

/** The 32 raw bytes of a Z85 key (what libzmq hands the ZAP handler), by the Z85 alphabet. */
function rawKey(z85: string): Buffer {
  const alphabet = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';
  const out = Buffer.alloc((z85.length / 5) * 4);
  for (let i = 0; i < z85.length; i += 5) {
    let v = 0;
    for (let j = 0; j < 5; j++) v = v * 85 + alphabet.indexOf(z85[i + j]);
    out.writeUInt32BE(v, (i / 5) * 4);
  }
  return out;
}

const allowed = curveKeyPair().publicKey;
const other = curveKeyPair().publicKey;
const domains = new Map([['results#1', { allowedClientKeys: new Set([allowed]) }]]);
const request = (over: Partial<ZapRequest> = {}): ZapRequest => ({ version: '1.0', requestId: Buffer.from('1'), domain: 'results#1', address: '10.0.0.7', mechanism: 'CURVE', credentials: [rawKey(allowed)], ...over });

describe('zapVerdict', () => {
  // Rule: a listed key is let in, and the handler knows it by its Z85 text.
  it('lets in a CURVE client whose key is in the allow-list', () => {
    expect(zapVerdict(request(), domains)).toEqual({ status: '200', text: 'OK', clientKey: allowed });
  });

  // Rule: fail closed: any other key, mechanism, domain or version is refused, with the reason and the key when there is one.
  it('refuses another key, another mechanism, an unknown domain and another version', () => {
    expect(zapVerdict(request({ credentials: [rawKey(other)] }), domains)).toEqual({ status: '400', text: 'client key not in the allow-list', clientKey: other });
    expect(zapVerdict(request({ mechanism: 'NULL', credentials: [] }), domains)).toEqual({ status: '400', text: 'mechanism NULL is not allowed; only CURVE clients with a listed key' });
    expect(zapVerdict(request({ mechanism: 'PLAIN', credentials: [Buffer.from('u'), Buffer.from('p')] }), domains).status).toBe('400');
    expect(zapVerdict(request({ domain: 'elsewhere#2' }), domains)).toEqual({ status: '400', text: "unknown ZAP domain 'elsewhere#2'", clientKey: allowed });
    expect(zapVerdict(request({ version: '2.0' }), domains)).toEqual({ status: '500', text: 'unsupported ZAP version 2.0' });
  });
});
