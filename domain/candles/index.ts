/**
 * The candle data gate: validates the historical M1 file an OOS request names before the request
 * is enqueued. Import from here; the other modules are the implementation.
 */
export { validateCandleFile } from './validate.ts';
export type { ValidateFileOptions } from './validate.ts';
export { VerdictCache, validateCandleFileCached, fileIdentity, verdictCacheKey, IDENTITY_BLOCK_BYTES, DEFAULT_CACHE_ENTRIES } from './cache.ts';
export type { FileIdentity, VerdictCacheOptions } from './cache.ts';
export type { CandleVerdict } from './verdict.ts';
export { isUnreadable } from './verdict.ts';
export { PROBLEM_KINDS, WARNING_KINDS } from './issues.ts';
export type { Issue, IssueKind, ProblemKind, WarningKind } from './issues.ts';
export { resolveCheckOptions, DEFAULT_MAX_GAP_HOURS, DEFAULT_MAX_EXAMPLES, DEFAULT_MAX_LINE_BYTES, DEFAULT_CHUNK_SIZE } from './options.ts';
export type { CandleCheckOptions, ResolvedCheckOptions } from './options.ts';
export { formatVerdict } from './format.ts';
// Pure building blocks, for other readers of the same format.
export { CandleScanner } from './scanner.ts';
export type { ScanResult } from './scanner.ts';
export { CandleChecker } from './checker.ts';
export type { CheckSummary } from './checker.ts';
export { parseHeader, REQUIRED_COLUMNS, VOLUME_COLUMN, EXPECTED_HEADER } from './header.ts';
export type { CandleHeader, HeaderResult } from './header.ts';
export { parseDecimal, isIntegerLiteral } from './decimal.ts';
export { timestampStep, nonPositivePrice, ohlcViolation, notSeconds, MAX_SECONDS_TIMESTAMP } from './rows.ts';
export type { TimestampStep } from './rows.ts';
export { windowShortfalls } from './window.ts';
