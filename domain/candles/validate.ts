/**
 * File I/O of the data gate: reads a candle file front to back through one reused buffer and
 * feeds the scanner. Memory does not depend on the file's size.
 */
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import type { Clock } from '../../runtime/clock.ts';
import { systemClock } from '../../runtime/clock.ts';
import { DEFAULT_CHUNK_SIZE, resolveCheckOptions } from './options.ts';
import type { CandleCheckOptions } from './options.ts';
import { CandleScanner } from './scanner.ts';
import { unreadableVerdict, verdictFromScan } from './verdict.ts';
import type { CandleVerdict } from './verdict.ts';

export interface ValidateFileOptions extends CandleCheckOptions {
  /** Bytes per read; tests use tiny values to split rows across reads. */
  chunkSize?: number;
  /** Times the validation (`durationMs`). */
  clock?: Pick<Clock, 'now'>;
  /** Told the bytes read so far and the file's size after each read (a progress display). */
  onProgress?: (bytesRead: number, totalBytes: number) => void;
}

/**
 * Validates a whole candle file. Resolves to a verdict for every outcome of the file itself
 * (missing or unreadable files give an `unreadable` problem); rejects only on invalid options.
 */
export async function validateCandleFile(path: string, options: ValidateFileOptions = {}): Promise<CandleVerdict> {
  const resolved = resolveCheckOptions(options);
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!(Number.isInteger(chunkSize) && chunkSize >= 1)) throw new RangeError(`chunkSize must be a positive integer, got ${chunkSize}`);
  const clock = options.clock ?? systemClock;
  const started = clock.now();

  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    return unreadableVerdict(path, describeError('cannot open', path, err), resolved, clock.now() - started);
  }
  const scanner = new CandleScanner(resolved);
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) return unreadableVerdict(path, `cannot read "${path}": not a regular file`, resolved, clock.now() - started);
    const buffer = Buffer.allocUnsafe(chunkSize);
    let total = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, chunkSize, null);
      if (bytesRead === 0) break;
      scanner.feed(bytesRead === chunkSize ? buffer : buffer.subarray(0, bytesRead));
      total += bytesRead;
      options.onProgress?.(total, stat.size);
    }
  } catch (err) {
    return unreadableVerdict(path, describeError('cannot read', path, err), resolved, clock.now() - started);
  } finally {
    await handle.close();
  }
  return verdictFromScan(path, scanner.finish(), resolved, clock.now() - started);
}

function describeError(what: string, path: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const message = err instanceof Error ? err.message : String(err);
  return `${what} "${path}": ${code !== undefined && !message.startsWith(code) ? `${code} ` : ''}${message}`;
}
