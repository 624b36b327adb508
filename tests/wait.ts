/**
 * Waiting in tests: for a state, never for a length of time. A check is retried after each short
 * timer turn until it holds; the deadline only turns a hang into a failure that names what never
 * happened. It is long because a loaded machine is slow, not wrong: the default stays under the
 * 30 s test timeout so that the failure says what was awaited.
 */
export const WAIT_DEADLINE_MS = 25_000;

export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = WAIT_DEADLINE_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
