/**
 * Numbers in Lisp's printed forms, both directions.
 *
 * Read: `212`, `-3`, `+2.5`, `.5`, `5.` (an integer in Common Lisp), `1.0e-5`, the CL exponent
 * markers `d f s l` (`1.0d0`, `1.5f0`), ratios `1/3`, and the non-finite spellings `inf +inf -inf
 * nan` (any case, so Rust's `NaN` too) plus Scheme's `+inf.0 -inf.0 +nan.0`.
 *
 * Print: integers without a decimal point; floats as the shortest text that reads back to the
 * same double, always with a `.` so a Lisp reader sees a float (`1.0`, `0.01`, `0.00001`); the
 * exponent form (JS's choice: below 1e-6 and from 1e21) is written the Lisp way, `1.0e-7`.
 */

const PLUS = 43;
const MINUS = 45;
const DOT = 46;
const SLASH = 47;
const ZERO = 48;
const NINE = 57;

function isDigit(c: number): boolean {
  return c >= ZERO && c <= NINE;
}

function isExponentMarker(c: number): boolean {
  // e E d D f F s S l L
  switch (c | 0x20) {
    case 101: case 100: case 102: case 115: case 108:
      return true;
    default:
      return false;
  }
}

/** Exact powers of ten: every 10^k with k <= 22 is a double without rounding. */
const POW10 = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

/**
 * Reads `src[start, end)` as a number, or returns undefined when it is not number syntax (the
 * caller then treats the token as a symbol, like a Lisp reader does with `1+` or `-foo`).
 *
 * Fast path (Clinger): with at most 15 digits the digits form an exact integer m, and when the
 * decimal exponent k has |k| <= 22, m * 10^k or m / 10^-k is a single correctly rounded operation
 * on exact operands, i.e. exactly what Number() would return. Anything else goes to Number().
 */
export function readNumberToken(src: string, start: number, end: number): number | undefined {
  let i = start;
  let c = src.charCodeAt(i);
  const negative = c === MINUS;
  if (negative || c === PLUS) c = src.charCodeAt(++i);
  let m = 0;
  const intStart = i;
  while (i < end && c >= ZERO && c <= NINE) {
    m = m * 10 + (c - ZERO);
    c = src.charCodeAt(++i);
  }
  const intDigits = i - intStart;
  let fracDigits = 0;
  let sawDot = false;
  if (i < end && c === DOT) {
    sawDot = true;
    c = src.charCodeAt(++i);
    const fracStart = i;
    while (i < end && c >= ZERO && c <= NINE) {
      m = m * 10 + (c - ZERO);
      c = src.charCodeAt(++i);
    }
    fracDigits = i - fracStart;
  }
  const digits = intDigits + fracDigits;
  if (digits === 0) return nonFinite(src, start, end);
  if (i === end) {
    if (fracDigits === 0) {
      // An integer (possibly CL's `5.`); `-0` is the integer 0.
      if (digits <= 15) return negative && m !== 0 ? -m : m;
      return Number(src.slice(start, sawDot ? end - 1 : end));
    }
    if (digits <= 15) return negative ? -(m / POW10[fracDigits]) : m / POW10[fracDigits];
    return Number(src.slice(start, end));
  }
  if (isExponentMarker(c)) {
    const marker = i;
    c = src.charCodeAt(++i);
    const expNegative = c === MINUS;
    if (expNegative || c === PLUS) c = src.charCodeAt(++i);
    const expStart = i;
    let exp = 0;
    while (i < end && c >= ZERO && c <= NINE) {
      if (exp < 100_000) exp = exp * 10 + (c - ZERO);
      c = src.charCodeAt(++i);
    }
    if (i !== end || i === expStart) return undefined;
    const k = (expNegative ? -exp : exp) - fracDigits;
    if (digits <= 15 && k >= -22 && k <= 22) {
      const v = k >= 0 ? m * POW10[k] : m / POW10[-k];
      return negative ? -v : v;
    }
    if ((src.charCodeAt(marker) | 0x20) === 101) return Number(src.slice(start, end));
    // JS only knows `e`; CL's other markers only choose the float width.
    return Number(src.slice(start, marker) + 'e' + src.slice(marker + 1, end));
  }
  if (c === SLASH && !sawDot && intDigits > 0) {
    // Ratio n/d, as Common Lisp prints exact fractions.
    const denStart = ++i;
    while (i < end && isDigit(src.charCodeAt(i))) i++;
    if (i !== end || i === denStart) return undefined;
    const den = Number(src.slice(denStart, end));
    if (den === 0) return undefined;
    return Number(src.slice(start, denStart - 1)) / den;
  }
  return undefined;
}

/** `inf`, `+inf`, `-inf`, `nan` (any case, optional sign) and Scheme's `+inf.0`, `-inf.0`, `+nan.0`. */
function nonFinite(src: string, start: number, end: number): number | undefined {
  const len = end - start;
  if (len < 3 || len > 6) return undefined;
  let tok = src.slice(start, end).toLowerCase();
  let sign = 1;
  const c = tok.charCodeAt(0);
  if (c === PLUS || c === MINUS) {
    if (c === MINUS) sign = -1;
    tok = tok.slice(1);
    if (tok.endsWith('.0')) tok = tok.slice(0, -2);
  }
  if (tok === 'inf') return sign * Infinity;
  if (tok === 'nan') return NaN;
  return undefined;
}

/**
 * A non-finite float spelled as text, as the host's service forwards it: its reader keeps tokens
 * without `.`, `e` or `E` as strings, so the engine's `inf` arrives as `"inf"`. Accepted, after
 * trimming and in any case: an optional sign, then `inf`, `infinity` or `nan`, optionally followed
 * by Scheme's `.0`. Anything else (digits included: `"0.5"` stays a string) is undefined.
 */
export function nonFiniteFromText(text: string): number | undefined {
  let t = text.trim().toLowerCase();
  if (t.length < 3 || t.length > 11) return undefined;
  let sign = 1;
  const c = t.charCodeAt(0);
  if (c === PLUS || c === MINUS) {
    if (c === MINUS) sign = -1;
    t = t.slice(1);
  }
  if (t.endsWith('.0')) t = t.slice(0, -2);
  if (t === 'inf' || t === 'infinity') return sign * Infinity;
  if (t === 'nan') return NaN;
  return undefined;
}

/** Whether a token that did not start like a number still spells a non-finite float. */
export function readNonFiniteToken(src: string, start: number, end: number): number | undefined {
  return nonFinite(src, start, end);
}

/** A float as Lisp prints it: always with a decimal point; exponent as `1.0e-7`; `inf`/`-inf`/`nan`. */
export function formatFloat(x: number): string {
  if (x !== x) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const s = String(x); // shortest text that reads back to the same double
  const e = s.indexOf('e');
  if (e === -1) return s.indexOf('.') === -1 ? s + '.0' : s;
  const mantissa = s.slice(0, e);
  const exp = s.charCodeAt(e + 1) === PLUS ? s.slice(e + 2) : s.slice(e + 1);
  return (mantissa.indexOf('.') === -1 ? mantissa + '.0' : mantissa) + 'e' + exp;
}

/** An integer-typed value; callers validate integrality first. */
export function formatInt(x: number): string {
  return String(x);
}

/** Generic tree printing: integral values as integers, everything else as floats. */
export function formatNumber(x: number): string {
  if (Number.isInteger(x) && Math.abs(x) < 1e21 && !Object.is(x, -0)) return String(x);
  return formatFloat(x);
}
