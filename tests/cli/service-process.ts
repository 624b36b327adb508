/** `shoal start` run as a user (or systemd) runs it: the built CLI in a child process, its log lines read as they come. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { REPO_ROOT } from '../persistence/helpers.ts';
import { until } from '../wait.ts';
import { BUILT_CLI } from './cli-process.ts';
import { openStore, type Store } from '../../persistence/connection.ts';
import { applyBatch } from '../../persistence/batch.ts';
import { strategy } from '../persistence/helpers.ts';
import { requestInput } from '../app/pipeline-harness.ts';

export type LogLine = Record<string, unknown> & { event?: string; level?: string; msg?: string };

export interface RunningService {
  readonly child: ChildProcessWithoutNullStreams;
  /** Every stdout line parsed as JSON (a line that is not JSON fails the wait that meets it). */
  readonly lines: LogLine[];
  /** Told every line as it is read (a fault that must act on a line at once listens here). */
  readonly listeners: Set<(line: LogLine) => void>;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first line of `event` (already logged or to come). */
  line(event: string, timeoutMs?: number): Promise<LogLine>;
  /** Resolves with the exit code (or 128 + signal number when a signal ended it). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startService(args: readonly string[], env: Record<string, string> = {}): RunningService {
  const child = spawn(process.execPath, [BUILT_CLI, 'start', ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: 'pipe' });
  let out = '';
  let err = '';
  const lines: LogLine[] = [];
  const listeners = new Set<(line: LogLine) => void>();
  let partial = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    partial += chunk.toString();
    const complete = partial.split('\n');
    partial = complete.pop()!;
    for (const l of complete) {
      if (l.trim() === '') continue;
      const line = JSON.parse(l) as LogLine;
      lines.push(line);
      for (const listener of listeners) listener(line);
    }
  });
  child.stderr.on('data', (chunk: Buffer) => void (err += chunk.toString()));
  // 'close': the output is complete once the pipes have closed.
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  let done = false;
  void exited.then(() => (done = true));
  return {
    child,
    lines,
    listeners,
    stdout: () => out,
    stderr: () => err,
    exited,
    async line(event, timeoutMs) {
      await until(
        () => {
          if (lines.some((l) => l.event === event)) return true;
          if (done) throw new Error(`shoal start exited before logging '${event}'; stdout: ${out}; stderr: ${err}`);
          return false;
        },
        `shoal start to log '${event}'`,
        timeoutMs,
      );
      return lines.find((l) => l.event === event)!;
    },
  };
}

/** Stores `n` pending requests (strategies S0..S<n-1>) as the data gate would have; their ids. */
export function seedPending(store: Store, n: number): string[] {
  const names = Array.from({ length: n }, (_, i) => `S${i}`);
  const outcomes = applyBatch(
    store,
    names.flatMap((name) => [
      { type: 'upsertStrategy' as const, strategy: strategy(name) },
      { type: 'enqueueRequest' as const, strategyName: name, payload: { ...requestInput(name), candlesFile: '/data/USDJPY_M1.csv', startTime: 1_700_000_000, endTime: 1_700_086_400 } },
    ]),
    Date.now(),
  );
  return outcomes.flatMap((o) => (o.type === 'enqueueRequest' && o.status === 'enqueued' ? [o.requestId] : []));
}

/** seedPending on the database at `dbPath`. */
export function seedOutbox(dbPath: string, n: number): string[] {
  const store = openStore({ path: dbPath });
  try {
    return seedPending(store, n);
  } finally {
    store.close();
  }
}
