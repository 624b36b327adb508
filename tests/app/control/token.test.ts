/** The control token: created once, private, compared in constant time; settings refuse an unasked remote bind. */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bearerToken, ensureTokenFile, readTokenFile, tokenMatches } from '../../../app/control/token.ts';
import { controlSettings, isLoopback, tokenFileOf } from '../../../app/control/settings.ts';
import { discoverControl, writeControlFile } from '../../../app/control/discovery.ts';
import { useTempStores } from '../../persistence/helpers.ts';

const temp = useTempStores();

describe('control token', () => {
  it('is created once with mode 0600 and 256 random bits, then read back unchanged', () => {
    const file = path.join(temp.dir(), 'shoal.db.token');
    const token = ensureTokenFile(file);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(ensureTokenFile(file)).toBe(token);
    expect(readTokenFile(file)).toBe(token);
  });

  it('a token file others can read is refused at start, naming the fix', () => {
    const file = path.join(temp.dir(), 'shoal.db.token');
    fs.writeFileSync(file, 'x'.repeat(32), { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    expect(() => ensureTokenFile(file)).toThrow(`the control token file ${file} can be read by others (mode 644): chmod 600 ${file}`);
  });

  it('matches only the exact token, whatever the lengths; reads the bearer header', () => {
    expect(tokenMatches('abc', 'abc')).toBe(true);
    expect(tokenMatches('abd', 'abc')).toBe(false);
    expect(tokenMatches('', 'abc')).toBe(false);
    expect(tokenMatches('abc'.repeat(1000), 'abc')).toBe(false);
    expect(bearerToken('Bearer t0k')).toBe('t0k');
    expect(bearerToken('bearer  t0k ')).toBe('t0k');
    expect(bearerToken('Basic t0k')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});

describe('control settings', () => {
  it('default to 127.0.0.1 on a free port with the token file beside the database', () => {
    expect(controlSettings(undefined)).toMatchObject({ enabled: true, host: '127.0.0.1', port: 0, allowRemote: false });
    expect(controlSettings(undefined).token).toBeUndefined();
    expect(tokenFileOf('/var/lib/shoal/shoal.db')).toBe('/var/lib/shoal/shoal.db.token');
  });

  it('refuse a non-loopback host unless allowRemote is set', () => {
    expect(() => controlSettings({ host: '0.0.0.0' })).toThrow(/control\.host' is 0\.0\.0\.0, not loopback: set control\.allowRemote/);
    expect(controlSettings({ host: '0.0.0.0', allowRemote: true }).host).toBe('0.0.0.0');
    expect(controlSettings({ host: '::1' }).host).toBe('::1');
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', 'localhost', '[::1]']) expect(isLoopback(h)).toBe(true);
    for (const h of ['0.0.0.0', '10.0.0.1', '::', 'example.com']) expect(isLoopback(h)).toBe(false);
  });
});

describe('control address discovery', () => {
  it('finds a live runtime and ignores a file whose pid is gone', () => {
    const db = path.join(temp.dir(), 'shoal.db');
    expect(discoverControl(db)).toMatchObject({ found: false, reason: expect.stringContaining('is missing') });
    writeControlFile(db, { pid: 4242, url: 'http://127.0.0.1:1', startedAt: 1, readsNeedToken: false });
    expect(discoverControl(db, () => true)).toMatchObject({ found: true, address: { pid: 4242 } });
    expect(discoverControl(db, () => false)).toMatchObject({ found: false, reason: expect.stringContaining('(pid 4242) is gone') });
  });
});
