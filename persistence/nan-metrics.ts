/**
 * How a NaN metric is stored. SQLite's REAL cannot hold NaN (binding one stores NULL), and NULL
 * already means "not reported" for the optional metrics; so the columns whose value was NaN are
 * named in the row's `nan_metrics` text (comma-separated column names, NULL when none), and the
 * read side gives NaN back for them. +/-Infinity need no marker: REAL stores them and they read
 * back as +/-Infinity. Pure.
 */

/** The comma-separated names of the columns holding NaN, or null when none does. */
export function nanMarker(columns: Readonly<Record<string, number | null | undefined>>): string | null {
  let marker: string | null = null;
  for (const [column, value] of Object.entries(columns)) {
    if (typeof value === 'number' && value !== value) marker = marker === null ? column : `${marker},${column}`;
  }
  return marker;
}

/** A stored value as the metric it was: NULL in a column the marker names is NaN. */
export function readMetric(value: number | null, column: string, marker: string | null): number | null {
  if (value !== null || marker === null) return value;
  return marker.split(',').includes(column) ? NaN : null;
}
