/**
 * The codec never throws on bad input: every decode returns a Result saying what went wrong and
 * where, so a poison frame becomes a counted failure instead of a crashed actor.
 */

export type CodecErrorKind =
  /** The frame as a whole is unusable: empty, not starting with `(`, not UTF-8. */
  | 'frame'
  /** The S-expression text is malformed. */
  | 'syntax'
  /** A configured limit (frame size, nesting depth, list length) was exceeded. */
  | 'limit'
  /** Well-formed S-expression, but not a valid message (missing field, wrong type, NaN metric...). */
  | 'validation';

export type LimitName = 'maxFrameBytes' | 'maxDepth' | 'maxListLength';

export interface CodecError {
  readonly kind: CodecErrorKind;
  readonly message: string;
  /** UTF-16 index into the frame text where the problem was found. */
  readonly offset?: number;
  /** UTF-8 byte offset of the same place (what a hex dump of the ZeroMQ frame shows). */
  readonly byteOffset?: number;
  /** The token or shape that would have been accepted there. */
  readonly expected?: string;
  /** Field path inside the message, e.g. `result.trade_list[3].pnl`. */
  readonly path?: string;
  /** Set when kind is 'limit'. */
  readonly limit?: LimitName;
  /** The request a rejected result frame answers, when it could still be read, so the attempt can be failed at once. */
  readonly requestId?: string;
}

export type Result<T, E = CodecError> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: E };

export function ok<T>(value: T): { readonly ok: true; readonly value: T } {
  return { ok: true, value };
}

export function fail(error: CodecError): { readonly ok: false; readonly error: CodecError } {
  return { ok: false, error };
}
