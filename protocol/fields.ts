/**
 * Reading typed fields out of alists, whichever printed form the peer chose:
 *   `(key . value)`  plain dotted pair
 *   `(key value)`    serde_lexpr Some (also written `(key . (value))`, which reads the same)
 *   `(key)`          serde_lexpr None (also `(key . nil)` for non-boolean fields)
 * Nested alists arrive as `(key (k . v) ...)` = `(key . ((k . v) ...))`, optionally wrapped once
 * more as `(key ((k . v) ...))`.
 *
 * Readers throw FieldFailure, which the message decoders catch and turn into a Result: the
 * happy path stays one line per field and no error object is built unless something is wrong.
 */
import type { CodecError } from './result.ts';
import { nonFiniteFromText } from './numbers.ts';
import { describeValue, SDotted, SSymbol, type SExpr } from './sexpr.ts';

/** `(key)`: the field is present and says None. */
export const NONE: unique symbol = Symbol('none');
/** The entry has a shape no convention allows, e.g. `(key a b)` for a scalar field. */
export const MALFORMED: unique symbol = Symbol('malformed');

/** What an entry holds; `undefined` is used by callers for "no such key". */
export type FieldValue = SExpr | typeof NONE | typeof MALFORMED;

export class FieldFailure {
  constructor(
    readonly path: string,
    readonly message: string,
    readonly expected?: string,
  ) {}
}

/** Turns what a message decoder caught into a CodecError (anything unexpected included: decoders never throw). */
export function fieldError(e: unknown, requestId?: string): CodecError {
  const base: CodecError =
    e instanceof FieldFailure
      ? { kind: 'validation', path: e.path, message: e.message, ...(e.expected === undefined ? {} : { expected: e.expected }) }
      : { kind: 'validation', message: `decoder failure: ${String(e)}` };
  return requestId === undefined ? base : { ...base, requestId };
}

/** Key of an alist entry with `-` read as `_` (peers have sent `max-drawdown`), or undefined when x is not an entry. */
export function entryKey(x: SExpr): string | undefined {
  let head: SExpr | undefined;
  if (x instanceof SDotted) head = x.items[0];
  else if (Array.isArray(x) && x.length > 0) head = x[0];
  if (!(head instanceof SSymbol)) return undefined;
  const name = head.name;
  return name.indexOf('-') === -1 ? name : name.replaceAll('-', '_');
}

/** The scalar an entry holds. */
export function entryValue(x: SExpr): FieldValue {
  if (x instanceof SDotted) return x.items.length === 1 ? x.tail : MALFORMED;
  if (!Array.isArray(x)) return MALFORMED;
  if (x.length === 2) return x[1];
  return x.length === 1 ? NONE : MALFORMED;
}

/** The elements after the key: `(key a b)` -> [a, b]; `(key . nil)` -> []. */
function entryRest(x: SExpr): SExpr[] | typeof MALFORMED {
  if (Array.isArray(x)) return x.slice(1);
  if (x instanceof SDotted && x.items.length === 1 && x.tail === false) return [];
  return MALFORMED;
}

/** The entries of a nested alist field, unwrapping the one-element-list form `(key ((k . v) ...))`. */
export function nestedAlist(x: SExpr, path: string): SExpr[] {
  const rest = entryRest(x);
  if (rest === MALFORMED) throw new FieldFailure(path, `${path} is not a nested alist`, '(key (k . v) ...)');
  if (rest.length === 1) {
    const only = rest[0];
    // A list whose head is not a symbol is a list of entries, not an entry: the wrapped form.
    if (Array.isArray(only) && (only.length === 0 || !(only[0] instanceof SSymbol))) return only;
  }
  return rest;
}

/** The elements of a list-of-alists field such as trade_list, in either the dotted or the Some form. */
export function alistList(x: SExpr, path: string): SExpr[] {
  const rest = entryRest(x);
  if (rest === MALFORMED) throw new FieldFailure(path, `${path} is not a list`, '(key . (((k . v) ...) ...))');
  if (rest.length === 1) {
    const only = rest[0];
    // `(key (A B))`: the single element is itself a list of alists (its head is not an entry).
    if (Array.isArray(only) && only.length > 0 && entryKey(only[0]) === undefined) return only;
  }
  return rest;
}

/** The entries of an alist value (a proper list); anything else is an error. */
export function requireEntries(list: SExpr, path: string): SExpr[] {
  if (!Array.isArray(list)) throw new FieldFailure(path, `${path} is not an alist`, '((key . value) ...)');
  return list;
}

export function notAnEntry(x: SExpr, path: string, index: number): FieldFailure {
  return new FieldFailure(`${path}[${index}]`, `${path}[${index}] is not a (key . value) entry (${describeValue(x)})`, '(key . value)');
}

function missing(v: FieldValue | undefined): boolean {
  return v === undefined || v === NONE;
}

function wrongType(v: FieldValue, path: string, expected: string): FieldFailure {
  const got = v === MALFORMED ? 'a malformed entry' : v === NONE ? 'None' : describeValue(v);
  return new FieldFailure(path, `${path} must be ${expected}, got ${got}`, expected);
}

function required(path: string, expected: string): FieldFailure {
  return new FieldFailure(path, `missing ${path}`, expected);
}

export function needString(v: FieldValue | undefined, path: string): string {
  if (typeof v === 'string') return v;
  if (missing(v)) throw required(path, 'a string');
  throw wrongType(v!, path, 'a string');
}

/** Optional string; `(key)` and `(key . nil)` are None. */
export function optString(v: FieldValue | undefined, path: string): string | undefined {
  if (typeof v === 'string') return v;
  if (missing(v) || v === false) return undefined;
  throw wrongType(v!, path, 'a string');
}

/** A string or a bare symbol's name (enum-like values). */
export function needName(v: FieldValue | undefined, path: string): string {
  if (typeof v === 'string') return v;
  if (v instanceof SSymbol) return v.name;
  if (missing(v)) throw required(path, 'a symbol or string');
  throw wrongType(v!, path, 'a symbol or string');
}

export function optName(v: FieldValue | undefined, path: string): string | undefined {
  if (missing(v) || v === false) return undefined;
  return needName(v, path);
}

export function needInt(v: FieldValue | undefined, path: string, min = Number.MIN_SAFE_INTEGER): number {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= min) return v;
  if (missing(v)) throw required(path, 'an integer');
  throw wrongType(v!, path, min === 0 ? 'a non-negative integer' : 'an integer');
}

export function optInt(v: FieldValue | undefined, path: string, min?: number): number | undefined {
  if (missing(v) || v === false) return undefined;
  return needInt(v, path, min);
}

/** Which infinities a float field admits. */
export type InfPolicy = 'finite' | 'positive' | 'negative' | 'any';

/**
 * A float field. A non-finite value may also arrive spelled as a string or a bare symbol
 * (`"inf"`, `"-inf"`, `"nan"`, `Infinity`; see nonFiniteFromText): the host's service forwards the
 * engine's `inf` quoted. Such a spelling reads as its number in every float field, so a field that
 * refuses it says which value it refused. NaN passes only when `nan` is true.
 */
export function needFloat(v: FieldValue | undefined, path: string, inf: InfPolicy = 'finite', nan = false): number {
  let x = v;
  if (typeof v === 'string' || v instanceof SSymbol) x = nonFiniteFromText(typeof v === 'string' ? v : v.name) ?? v;
  if (typeof x === 'number') {
    if (x - x === 0) return x; // finite
    if (x === Infinity && (inf === 'positive' || inf === 'any')) return x;
    if (x === -Infinity && (inf === 'negative' || inf === 'any')) return x;
    if (x !== x && nan) return x;
    const what = x !== x ? 'NaN' : String(x);
    throw new FieldFailure(path, `${path} must be ${expectedFloat(inf, nan)}, got ${what}`, expectedFloat(inf, nan));
  }
  if (missing(v)) throw required(path, 'a number');
  throw wrongType(v!, path, 'a number');
}

function expectedFloat(inf: InfPolicy, nan: boolean): string {
  const parts = ['a finite number'];
  if (inf === 'positive' || inf === 'any') parts.push('+inf');
  if (inf === 'negative' || inf === 'any') parts.push('-inf');
  if (nan) parts.push('nan');
  return parts.length === 1 ? parts[0] : `${parts.slice(0, -1).join(', ')} or ${parts[parts.length - 1]}`;
}

/** Booleans: `(key . t)`; `(key . nil)` and `(key)` are false (a Lisp printing false prints `(key)`). */
export function optBool(v: FieldValue | undefined, path: string): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (v === undefined) return undefined;
  if (v === NONE) return false;
  throw wrongType(v, path, 't or nil');
}
