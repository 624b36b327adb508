/**
 * The driver's hold on the chaos host's wall clock (the clock-jump fault). With libfaketime
 * (Debian package faketime) every host runs under it and a step rewrites its timestamp file: the
 * process's whole wall clock moves, monotonic time does not, as with an NTP step. Without it the
 * host replaces Date.now (fixtures/wall-clock.ts) and the report says so. The offset stays across
 * restarts, as a stepped machine clock would.
 */
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const LIBFAKETIME = ['/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1', '/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1', '/usr/lib/faketime/libfaketimeMT.so.1', '/usr/local/lib/faketime/libfaketimeMT.so.1'];

/** What a host answers once a step shows in its wall clock. */
export interface ClockAnswer {
  readonly offsetMs: number;
  readonly via: string;
  readonly seenMs: number;
}

export class WallClockControl {
  /** How far the hosts' wall clock is off now (whole seconds: libfaketime's offsets are). */
  offsetMs = 0;
  /** The library, or undefined with the reason it is not used. */
  readonly library: string | undefined;
  readonly why: string | undefined;
  private readonly file: string;

  constructor(dir: string) {
    this.file = path.join(dir, 'faketime');
    const found = process.env.SHOAL_CHAOS_FAKETIME === '0' ? undefined : LIBFAKETIME.find((f) => existsSync(f));
    this.library = found;
    this.why = found ? undefined : process.env.SHOAL_CHAOS_FAKETIME === '0' ? 'SHOAL_CHAOS_FAKETIME=0' : 'libfaketime not installed (apt-get install faketime)';
    if (found) writeFileSync(this.file, '+0\n');
  }

  /** How a step reaches the host, for the report. */
  get via(): string {
    return this.library ? 'libfaketime' : `a replaced Date.now (${this.why})`;
  }

  /** The environment of a host process: under libfaketime, with monotonic time left alone. */
  env(): NodeJS.ProcessEnv {
    return { ...process.env, ...this.preload() };
  }

  /** The variables that put a process under libfaketime (none without it). */
  preload(): Record<string, string> {
    if (!this.library) return {};
    const preload = [process.env.LD_PRELOAD, this.library].filter(Boolean).join(':');
    // NO_CACHE: the file is read at every wall-clock read, so a step shows at once.
    return { LD_PRELOAD: preload, FAKETIME_TIMESTAMP_FILE: this.file, FAKETIME_NO_CACHE: '1', FAKETIME_DONT_FAKE_MONOTONIC: '1' };
  }

  /** Sets the hosts' wall clock `offsetMs` off the real one (rounded to seconds) and returns the new offset. */
  step(offsetMs: number): number {
    const seconds = Math.round(offsetMs / 1_000);
    this.offsetMs = seconds * 1_000;
    if (this.library) writeFileSync(this.file, `${seconds >= 0 ? '+' : ''}${seconds}\n`);
    return this.offsetMs;
  }
}
