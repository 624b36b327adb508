/**
 * Text from outside (a frame, a file) quoted for an error message: JSON escapes, so a newline or
 * control character in hostile input cannot split the message (or a log line) in two; cut at
 * `max` characters.
 */
export function quoteText(text: string, max = 40): string {
  return text.length > max ? `${JSON.stringify(text.slice(0, max))}...` : JSON.stringify(text);
}
