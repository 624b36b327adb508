/**
 * Number parsing straight from bytes, so the gate never allocates a string per field.
 *
 * Grammar (ASCII): `[+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits)?` — no spaces, no
 * `NaN`/`Infinity`/hex, not empty. The result is the same double `Number(text)` gives: up to 15
 * significant digits and a decimal exponent within ±22 are computed exactly (the mantissa and the
 * power of ten are both exact doubles, so one IEEE multiply or divide rounds correctly); anything
 * else falls back to `Number()` on that one field.
 */

const DOT = 0x2e;
const MINUS = 0x2d;
const PLUS = 0x2b;
const LOWER_E = 0x65;
const UPPER_E = 0x45;
const ZERO = 0x30;

/** 1e0 .. 1e22: every power of ten a double holds exactly. */
const POW10: readonly number[] = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));

/** More significant digits than this may not fit a double's 53-bit mantissa exactly. */
const MAX_FAST_DIGITS = 15;

/** Parses `bytes[start, end)` as a decimal number; NaN when it is malformed or not finite. */
export function parseDecimal(bytes: Uint8Array, start: number, end: number): number {
  let i = start;
  if (i >= end) return NaN;
  let negative = false;
  let ch = bytes[i];
  if (ch === MINUS || ch === PLUS) {
    negative = ch === MINUS;
    i++;
  }

  let mantissa = 0;
  let significant = 0;
  let digits = 0;
  let fractionDigits = 0;
  let slow = false;

  while (i < end) {
    const d = bytes[i] - ZERO;
    if (d >>> 0 > 9) break;
    digits++;
    if (!slow && (mantissa !== 0 || d !== 0)) {
      if (++significant > MAX_FAST_DIGITS) slow = true;
      else mantissa = mantissa * 10 + d;
    }
    i++;
  }
  if (i < end && bytes[i] === DOT) {
    i++;
    while (i < end) {
      const d = bytes[i] - ZERO;
      if (d >>> 0 > 9) break;
      digits++;
      if (!slow) {
        if (mantissa !== 0 || d !== 0) {
          if (++significant > MAX_FAST_DIGITS) slow = true;
          else {
            mantissa = mantissa * 10 + d;
            fractionDigits++;
          }
        } else {
          fractionDigits++; // a leading zero after the point only scales
        }
      }
      i++;
    }
  }
  if (digits === 0) return NaN;

  let exponent = 0;
  if (i < end && (bytes[i] === LOWER_E || bytes[i] === UPPER_E)) {
    i++;
    let expNegative = false;
    if (i < end && (bytes[i] === MINUS || bytes[i] === PLUS)) {
      expNegative = bytes[i] === MINUS;
      i++;
    }
    let expDigits = 0;
    while (i < end) {
      const d = bytes[i] - ZERO;
      if (d >>> 0 > 9) break;
      // Saturate: past this the value is 0 or Infinity anyway, and the slow path decides which.
      if (exponent < 100_000) exponent = exponent * 10 + d;
      expDigits++;
      i++;
    }
    if (expDigits === 0) return NaN;
    if (expNegative) exponent = -exponent;
  }
  if (i !== end) return NaN;

  if (slow) return parseSlow(bytes, start, end);
  let value: number;
  if (mantissa === 0) value = 0;
  else {
    const scale = exponent - fractionDigits;
    if (scale === 0) value = mantissa;
    else if (scale > 0 && scale <= 22) value = mantissa * POW10[scale];
    else if (scale < 0 && scale >= -22) value = mantissa / POW10[-scale];
    else return parseSlow(bytes, start, end);
  }
  return negative ? -value : value;
}

/** The grammar was already checked; only the value is left to `Number()`. */
function parseSlow(bytes: Uint8Array, start: number, end: number): number {
  const value = Number(asciiText(bytes, start, end));
  return Number.isFinite(value) ? value : NaN;
}

/** True when `bytes[start, end)` is an integer literal: an optional sign, then digits only. */
export function isIntegerLiteral(bytes: Uint8Array, start: number, end: number): boolean {
  let i = start;
  if (i < end && (bytes[i] === MINUS || bytes[i] === PLUS)) i++;
  if (i >= end) return false;
  for (; i < end; i++) if ((bytes[i] - ZERO) >>> 0 > 9) return false;
  return true;
}

/** Decodes a short byte range for messages and the slow path (Latin-1: one char per byte). */
export function asciiText(bytes: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(bytes[i]);
  return s;
}
