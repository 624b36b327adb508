/**
 * Coverage of the requested OOS window. Timestamps are bar open times and the backtester selects
 * bars with start_time <= timestamp <= end_time. The data covers the window when:
 *   - both bounds given: first timestamp <= start_time and last timestamp >= end_time;
 *   - only start_time: first <= start_time <= last (the window runs to the end of the data);
 *   - only end_time: first <= end_time <= last (the window runs from the start of the data);
 *   - neither: always.
 * Holes inside the window are `gap` warnings, not coverage failures: weekends make every real
 * window have some.
 */
export function windowShortfalls(first: number, last: number, startTime: number | null, endTime: number | null): string[] {
  const out: string[] = [];
  if (startTime !== null) {
    if (first > startTime) out.push(`requested start_time ${startTime} is before the first timestamp ${first}`);
    if (endTime === null && startTime > last) out.push(`requested start_time ${startTime} is after the last timestamp ${last}`);
  }
  if (endTime !== null) {
    if (last < endTime) out.push(`requested end_time ${endTime} is after the last timestamp ${last}`);
    if (startTime === null && endTime < first) out.push(`requested end_time ${endTime} is before the first timestamp ${first}`);
  }
  return out;
}
