/**
 * CURVE key files: `NAME.key` holds the secret key (mode 0600), `NAME.pub` the public key (0644),
 * each one line of Z85 text. A secret key file that others may read is refused, as ssh refuses a
 * private key others may read; a key's text is never put in an error.
 */
import { chmodSync, existsSync, linkSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { curveKeyPair } from 'zeromq';
import { isZ85Key, type CurveKeyPair } from './curve.ts';

export const SECRET_KEY_MODE = 0o600;
export const PUBLIC_KEY_MODE = 0o644;

/** A key pair's file name: letters, digits, dot, dash and underscore, not starting with a dot. */
const KEY_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

export class KeyFileError extends Error {
  override readonly name = 'KeyFileError';
  /** `input`: the caller asked for something impossible (a taken name, a missing directory); `io`: writing failed. */
  constructor(message: string, readonly code: 'input' | 'io' = 'input') {
    super(message);
  }
}

export interface KeyPairFiles {
  readonly secretKeyFile: string;
  readonly publicKeyFile: string;
  readonly publicKey: string;
}

export function keyPairFiles(dir: string, name: string): { secretKeyFile: string; publicKeyFile: string } {
  if (!KEY_NAME.test(name)) throw new KeyFileError(`key name must be letters, digits, '.', '-' or '_' (not starting with '.'), got '${name}'`);
  return { secretKeyFile: path.join(dir, `${name}.key`), publicKeyFile: path.join(dir, `${name}.pub`) };
}

/** The public key file beside a secret key file: `x.key` -> `x.pub`, anything else gets `.pub` added. */
export function publicKeyFileFor(secretKeyFile: string): string {
  return secretKeyFile.endsWith('.key') ? `${secretKeyFile.slice(0, -4)}.pub` : `${secretKeyFile}.pub`;
}

/**
 * Writes a new key pair as `DIR/NAME.key` and `DIR/NAME.pub`. Without `force` an existing file of
 * either name is refused before anything is written. Each file is written under a temporary name
 * with its mode already set and then put in place, so the secret is never in a file others can
 * read, not even for a moment, and a crash leaves no half-written key.
 */
export function writeKeyPair(dir: string, name: string, options: { force?: boolean; keys?: CurveKeyPair } = {}): KeyPairFiles {
  const files = keyPairFiles(dir, name);
  if (!options.force) {
    const taken = [files.secretKeyFile, files.publicKeyFile].filter((f) => existsSync(f));
    if (taken.length > 0) throw new KeyFileError(`${taken.join(' and ')} already exist${taken.length === 1 ? 's' : ''}; use --force to replace the key pair`);
  }
  const keys = options.keys ?? curveKeyPair();
  place(files.secretKeyFile, keys.secretKey, SECRET_KEY_MODE, options.force === true);
  place(files.publicKeyFile, keys.publicKey, PUBLIC_KEY_MODE, options.force === true);
  return { ...files, publicKey: keys.publicKey };
}

function place(file: string, key: string, mode: number, replace: boolean): void {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    writeFileSync(temp, `${key}\n`, { mode, flag: 'wx' });
    // The umask may have taken bits away (a 0644 public key under umask 077); set exactly.
    chmodSync(temp, mode);
    if (replace) renameSync(temp, file);
    else {
      // link refuses an existing name, where rename would replace it: no overwrite by a race.
      linkSync(temp, file);
      unlinkSync(temp);
    }
  } catch (e) {
    try {
      unlinkSync(temp);
    } catch {
      // already gone
    }
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EEXIST') throw new KeyFileError(`${file} already exists; use --force to replace the key pair`);
    if (err.code === 'ENOENT') throw new KeyFileError(`cannot write ${file}: no such directory ${path.dirname(file)}`);
    if (err.code === 'EACCES') throw new KeyFileError(`cannot write ${file}: permission denied`, 'io');
    throw new KeyFileError(`cannot write ${file}: ${err.message}`, 'io');
  }
}

/**
 * Reads one key file. A secret key file must not be readable by group or others (POSIX modes;
 * Windows has none). Errors name the file and never show its content.
 */
export function readKeyFile(file: string, kind: 'secret' | 'public'): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'no such file' : err.code === 'EACCES' ? 'permission denied' : err.code === 'EISDIR' ? 'it is a directory' : err.code ?? 'unreadable';
    throw new KeyFileError(`cannot read ${kind} key file ${file}: ${why}`);
  }
  if (kind === 'secret' && process.platform !== 'win32') {
    const mode = statSync(file).mode & 0o777;
    if ((mode & 0o077) !== 0) throw new KeyFileError(`secret key file ${file} may be read by other users (mode 0${mode.toString(8)}); chmod 600 it`);
  }
  const key = text.trim();
  if (!isZ85Key(key)) throw new KeyFileError(`${kind} key file ${file} does not hold a CURVE key (one line of 40 Z85 characters, as shoal keys generate writes)`);
  return key;
}

/** A key pair from its files (the public one beside the secret one unless named). */
export function readKeyPair(secretKeyFile: string, publicKeyFile: string = publicKeyFileFor(secretKeyFile)): CurveKeyPair {
  return { secretKey: readKeyFile(secretKeyFile, 'secret'), publicKey: readKeyFile(publicKeyFile, 'public') };
}
