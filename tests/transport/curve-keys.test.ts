/**
 * CURVE key files: a pair is written with the secret key readable by its owner only (0600) and the
 * public key 0644, whatever the umask; an existing pair is never overwritten without force; a
 * secret key file others may read is refused on reading; no error shows a key's text.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { curveKeyPair } from 'zeromq';
import { isZ85Key } from '../../transport/curve.ts';
import { KeyFileError, publicKeyFileFor, readKeyFile, readKeyPair, writeKeyPair } from '../../transport/curve-keys.ts';
import { useTempStores } from '../persistence/helpers.ts';

const temp = useTempStores();
const mode = (file: string) => fs.statSync(file).mode & 0o777;

describe('writeKeyPair', () => {
  // Rule: NAME.key is 0600 and NAME.pub 0644, each one Z85 line, even under a umask that would give other modes.
  it('writes the secret key 0600 and the public key 0644, whatever the umask', () => {
    const dir = temp.dir();
    for (const umask of [0o000, 0o077]) {
      const previous = process.umask(umask);
      try {
        const name = `k${umask}`;
        const r = writeKeyPair(dir, name);
        expect(r.secretKeyFile).toBe(path.join(dir, `${name}.key`));
        expect(mode(r.secretKeyFile)).toBe(0o600);
        expect(mode(r.publicKeyFile)).toBe(0o644);
        const secret = fs.readFileSync(r.secretKeyFile, 'utf8');
        expect(secret).toMatch(/^.{40}\n$/);
        expect(fs.readFileSync(r.publicKeyFile, 'utf8')).toBe(`${r.publicKey}\n`);
        expect(readKeyPair(r.secretKeyFile)).toEqual({ secretKey: secret.trim(), publicKey: r.publicKey });
      } finally {
        process.umask(previous);
      }
    }
    // Nothing temporary is left behind.
    expect(fs.readdirSync(dir).sort()).toEqual(['k0.key', 'k0.pub', 'k63.key', 'k63.pub']);
  });

  // Rule: an existing key pair is never overwritten without force (not even half of it); with force it is replaced, still 0600.
  it('refuses to overwrite either file without force, and replaces the pair with it', () => {
    const dir = temp.dir();
    const first = writeKeyPair(dir, 'shoal');
    const secret = fs.readFileSync(first.secretKeyFile, 'utf8');
    fs.rmSync(first.secretKeyFile);
    fs.writeFileSync(first.secretKeyFile, secret, { mode: 0o644 });
    fs.rmSync(first.publicKeyFile);
    expect(() => writeKeyPair(dir, 'shoal')).toThrow(`${first.secretKeyFile} already exists; use --force to replace the key pair`);
    expect(fs.existsSync(first.publicKeyFile)).toBe(false);
    const second = writeKeyPair(dir, 'shoal', { force: true });
    expect(second.publicKey).not.toBe(first.publicKey);
    expect(fs.readFileSync(second.secretKeyFile, 'utf8')).not.toBe(secret);
    expect(mode(second.secretKeyFile)).toBe(0o600);
  });

  // Rule: bad input is one line: a name that could leave the directory, a directory that does not exist.
  it('refuses a bad name or a missing directory with one line', () => {
    const dir = temp.dir();
    expect(() => writeKeyPair(dir, '../escape')).toThrow("key name must be letters, digits, '.', '-' or '_' (not starting with '.'), got '../escape'");
    expect(() => writeKeyPair(dir, '.hidden')).toThrow(KeyFileError);
    const missing = path.join(dir, 'nope');
    expect(() => writeKeyPair(missing, 'shoal')).toThrow(`cannot write ${path.join(missing, 'shoal.key')}: no such directory ${missing}`);
  });
});

describe('readKeyFile', () => {
  // Rule: a secret key file that group or others may read is refused, naming the mode and the fix (as ssh does).
  it('refuses a secret key file others may read', () => {
    const dir = temp.dir();
    const r = writeKeyPair(dir, 'shoal');
    fs.chmodSync(r.secretKeyFile, 0o640);
    expect(() => readKeyFile(r.secretKeyFile, 'secret')).toThrow(`secret key file ${r.secretKeyFile} may be read by other users (mode 0640); chmod 600 it`);
    // A public key may be read by anyone.
    expect(readKeyFile(r.publicKeyFile, 'public')).toBe(r.publicKey);
  });

  // Rule: a file that does not hold a key is refused in one line that never shows its content.
  it('refuses what is not a key without showing it, and a missing file by name', () => {
    const dir = temp.dir();
    const file = path.join(dir, 'bad.key');
    const { secretKey } = curveKeyPair();
    fs.writeFileSync(file, `${secretKey}x\n`, { mode: 0o600 });
    let message = '';
    try {
      readKeyFile(file, 'secret');
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toBe(`secret key file ${file} does not hold a CURVE key (one line of 40 Z85 characters, as shoal keys generate writes)`);
    expect(message).not.toContain(secretKey);
    expect(() => readKeyFile(path.join(dir, 'none.pub'), 'public')).toThrow(`cannot read public key file ${path.join(dir, 'none.pub')}: no such file`);
    expect(isZ85Key(secretKey)).toBe(true);
  });

  // Rule: the public key file defaults to the .pub beside the .key.
  it('finds the public key beside the secret one', () => {
    expect(publicKeyFileFor('/etc/shoal/keys/shoal.key')).toBe('/etc/shoal/keys/shoal.pub');
    expect(publicKeyFileFor('/etc/shoal/secret')).toBe('/etc/shoal/secret.pub');
  });
});
