/**
 * Secrets (webhook URLs, tokens) kept out of text: every log line, error and stored error passes
 * through a scrubber made from the secret values. Pure.
 */
export const REDACTED = '[redacted]';

/** Replaces each secret, as written raw or inside a JSON string, with [redacted]. */
export function scrubber(secrets: readonly string[]): (line: string) => string {
  const forms = [...new Set(secrets.filter((s) => s.length > 0).flatMap((s) => [s, JSON.stringify(s).slice(1, -1)]))]
    // Longest first, so a secret that contains another is replaced whole.
    .sort((a, b) => b.length - a.length);
  if (forms.length === 0) return (line) => line;
  return (line) => {
    let out = line;
    for (const f of forms) if (out.includes(f)) out = out.split(f).join(REDACTED);
    return out;
  };
}
