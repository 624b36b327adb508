/**
 * What the CLI does differently on a terminal: colours (none with NO_COLOR or when piped),
 * progress lines on stderr (none when piped or with --json), redrawing in place.
 */

export interface Terminal {
  /** stdout is a terminal and colours are wanted. */
  readonly colour: boolean;
  /** stdout is a terminal (redraw in place). */
  readonly stdoutTty: boolean;
  /** stderr is a terminal (progress). */
  readonly stderrTty: boolean;
}

export function processTerminal(env: Record<string, string | undefined> = process.env): Terminal {
  const stdoutTty = process.stdout.isTTY === true;
  // https://no-color.org: any non-empty NO_COLOR turns colours off.
  return { colour: stdoutTty && !env.NO_COLOR && env.TERM !== 'dumb', stdoutTty, stderrTty: process.stderr.isTTY === true };
}

const SGR = { red: 31, green: 32, yellow: 33, dim: 2, bold: 1 } as const;
export type Paint = Record<keyof typeof SGR, (s: string) => string>;

export function paint(enabled: boolean): Paint {
  const wrap = (code: number) => (enabled ? (s: string) => `\x1b[${code}m${s}\x1b[0m` : (s: string) => s);
  return Object.fromEntries(Object.entries(SGR).map(([k, c]) => [k, wrap(c)])) as Paint;
}

/** Cursor home and clear to the end of the screen: the next frame overwrites the last one. */
export const REDRAW = '\x1b[H\x1b[J';

export interface Progress {
  update(text: string): void;
  done(): void;
}

/** A one-line progress display on stderr, rewritten at most every 100 ms; silent when `enabled` is false. */
export function progress(enabled: boolean, write: (s: string) => void = (s) => void process.stderr.write(s)): Progress {
  if (!enabled) return { update: () => undefined, done: () => undefined };
  let last = 0;
  let shown = false;
  return {
    update(text) {
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      shown = true;
      write(`\r\x1b[K${text}`);
    },
    done() {
      if (shown) write('\r\x1b[K');
    },
  };
}
