/** The chaos driver's wait for a point to inject a fault at. */
import { until } from '../wait.ts';

/** Waits for `condition` (tests/wait.ts); false after `ms` instead of throwing: the fault then lands anyway and the cycle line says so. */
export function waitFor(condition: () => boolean, ms = 60_000): Promise<boolean> {
  return until(condition, 'a point to inject the fault at', ms).then(
    () => true,
    () => false,
  );
}
