/**
 * Turning a ZeroMQ frame (Buffer/Uint8Array) or a string into frame text, enforcing the size
 * limit before any decoding work and rejecting bytes that are not UTF-8 (a frame with replaced
 * characters would otherwise decode to a silently different strategy name or request id).
 */
import { Buffer, isUtf8 } from 'node:buffer';
import type { CodecLimits } from './limits.ts';
import { fail, ok, type CodecError, type Result } from './result.ts';

export type FrameInput = Uint8Array | string;

/** The frame as text, plus whether offsets must be translated back to bytes for error reports. */
export function frameText(input: FrameInput, limits: CodecLimits): Result<string> {
  if (typeof input === 'string') {
    // Each UTF-16 unit is at least one UTF-8 byte and at most three, so only the middle band needs counting.
    if (input.length > limits.maxFrameBytes || (input.length * 3 > limits.maxFrameBytes && Buffer.byteLength(input, 'utf8') > limits.maxFrameBytes)) {
      return fail(frameTooLarge(input.length > limits.maxFrameBytes ? input.length : Buffer.byteLength(input, 'utf8'), limits));
    }
    return ok(input);
  }
  if (input.byteLength > limits.maxFrameBytes) return fail(frameTooLarge(input.byteLength, limits));
  const buf = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const text = buf.toString('utf8');
  // Malformed UTF-8 decodes to U+FFFD, so only a frame containing U+FFFD needs the full check.
  if (text.indexOf('\uFFFD') !== -1 && !isUtf8(buf)) {
    const at = firstInvalidUtf8(buf);
    return fail({ kind: 'frame', message: `frame is not valid UTF-8 (bad byte at ${at})`, byteOffset: at });
  }
  return ok(text);
}

function frameTooLarge(size: number, limits: CodecLimits): CodecError {
  return {
    kind: 'limit',
    limit: 'maxFrameBytes',
    message: `frame of ${size} bytes exceeds maxFrameBytes (${limits.maxFrameBytes})`,
  };
}

/** UTF-8 byte offset of UTF-16 index `offset` in `text` (error path only). */
export function byteOffsetOf(text: string, offset: number): number {
  return Buffer.byteLength(text.slice(0, offset), 'utf8');
}

/** Index of the first byte that breaks UTF-8 well-formedness (only called once isUtf8 said no). */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    // Continuation count and smallest code point for the lead byte (rejects overlong forms).
    const n = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : 0;
    if (n === 0) return i;
    const min = n === 1 ? 0x80 : n === 2 ? 0x800 : 0x10000;
    let cp = c & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      if (i + k >= b.length) return i;
      const cc = b[i + k];
      if ((cc & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return b.length;
}
