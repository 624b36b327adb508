/**
 * The control endpoint's bearer token: created once, at the first start, in a file beside the
 * database that only its owner can read (0600); or given in the configuration. Compared in
 * constant time. Light on imports: the CLI reads the same file.
 */
import { randomBytes, createHash, timingSafeEqual } from 'node:crypto';
import { closeSync, fstatSync, openSync, readFileSync, writeSync } from 'node:fs';

/** Reads the token file, creating it (0600, 256 random bits) when there is none. */
export function ensureTokenFile(file: string): string {
  try {
    // 'wx': created here or not at all, so two starters cannot write different tokens.
    const fd = openSync(file, 'wx', 0o600);
    try {
      const token = randomBytes(32).toString('base64url');
      writeSync(fd, `${token}\n`);
      return token;
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`cannot create the control token file ${file}: ${(e as Error).message}`);
  }
  return readTokenFile(file, { requirePrivate: true });
}

/**
 * The token in `file`. With `requirePrivate`, a file others may read is refused: anyone who can
 * read it can replay and discard dead letters.
 */
export function readTokenFile(file: string, options: { requirePrivate?: boolean } = {}): string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw new Error(`cannot read the control token file ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  try {
    const mode = fstatSync(fd).mode & 0o777;
    if (options.requirePrivate && (mode & 0o077) !== 0) {
      throw new Error(`the control token file ${file} can be read by others (mode ${mode.toString(8)}): chmod 600 ${file}`);
    }
    const token = readFileSync(fd, 'utf8').trim();
    if (token.length < 16) throw new Error(`the control token file ${file} holds no token (at least 16 characters)`);
    return token;
  } finally {
    closeSync(fd);
  }
}

/**
 * Whether `given` is the token, in time that does not depend on where they differ: both are
 * hashed first, so the comparison is of equal lengths whatever was sent.
 */
export function tokenMatches(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The token of an `Authorization: Bearer <token>` header, or undefined when there is none. */
export function bearerToken(header: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m?.[1];
}
