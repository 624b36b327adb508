/**
 * Header rules. The accepted headers are
 *   `timestamp,open,high,low,close`
 *   `timestamp,open,high,low,close,volume[,extra...]`
 * Names are matched exactly (lowercase, no surrounding spaces, no quotes) and in this order. The
 * gate is deliberately no more lenient than the strictest reader of these files: the backtest
 * service may read columns by position or by name, and a file the gate passes must read the same
 * either way. Extra columns are allowed only after `volume` (a positional reader would otherwise
 * take the first extra column for volume); their values are not checked, but every row must have
 * as many fields as the header. A UTF-8 BOM is stripped before matching (the caller strips CR).
 */
import { quoteText } from '../../protocol/quote.ts';

export const REQUIRED_COLUMNS = ['timestamp', 'open', 'high', 'low', 'close'] as const;
export const VOLUME_COLUMN = 'volume';
export const EXPECTED_HEADER = 'timestamp,open,high,low,close[,volume[,extra...]]';

export interface CandleHeader {
  columns: string[];
  /** Columns whose values are checked: 5 without volume, 6 with it (extras follow). */
  checkedColumns: number;
  hasVolume: boolean;
}

export type HeaderResult = { ok: true; header: CandleHeader } | { ok: false; reason: string };

const KNOWN = new Set<string>([...REQUIRED_COLUMNS, VOLUME_COLUMN]);

/** Checks header text (BOM and line break already removed). */
export function parseHeader(text: string): HeaderResult {
  if (text.length === 0) return { ok: false, reason: `the header line is blank, expected "${EXPECTED_HEADER}"` };
  const columns = text.split(',');
  for (let i = 0; i < REQUIRED_COLUMNS.length; i++) {
    if (columns[i] !== REQUIRED_COLUMNS[i]) {
      return { ok: false, reason: `expected "${EXPECTED_HEADER}", got ${clip(text)} (column ${i + 1} should be "${REQUIRED_COLUMNS[i]}")` };
    }
  }
  const hasVolume = columns.length > REQUIRED_COLUMNS.length;
  if (hasVolume && columns[REQUIRED_COLUMNS.length] !== VOLUME_COLUMN) {
    return { ok: false, reason: `expected "${EXPECTED_HEADER}", got ${clip(text)} (column 6 should be "volume"; extra columns may only follow it)` };
  }
  for (let i = REQUIRED_COLUMNS.length + 1; i < columns.length; i++) {
    if (KNOWN.has(columns[i])) return { ok: false, reason: `column ${quoteText(columns[i])} appears twice in ${clip(text)}` };
  }
  return { ok: true, header: { columns, checkedColumns: hasVolume ? 6 : 5, hasVolume } };
}

/** The header as read, quoted and escaped (a stray CR or control byte stays on one line). */
function clip(text: string): string {
  return quoteText(text, 77);
}
