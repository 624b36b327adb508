/**
 * The `shoal` command: dispatches to one command module each. A command's module is imported only
 * when that command runs, so `shoal --help` (and every command) starts without loading what the
 * others need (the store, the runtime, ZeroMQ): start-up time is measured by bench/cli.bench.ts.
 */
import { type CommandOutput, processOutput } from './args.ts';

type Command = (argv: string[], out: CommandOutput) => Promise<number>;

const COMMANDS: Record<string, { run: () => Promise<Command>; summary: string }> = {
  start: { run: async () => (await import('./start.ts')).startCommand, summary: 'run the runtime as a service in the foreground until SIGTERM/SIGINT (structured logs)' },
  demo: { run: async () => (await import('./demo.ts')).demoCommand, summary: 'run the OOS flow end to end on embedded defaults (a local backtest service, a temp database)' },
  status: { run: async () => (await import('./status.ts')).statusCommand, summary: 'one screen: up or down, uptime, outbox, in flight, oldest pending, dead letters, restarts today' },
  tree: { run: async () => (await import('./tree.ts')).treeCommand, summary: 'the live supervision tree (--watch redraws it) and recent supervisor events' },
  queue: { run: async () => (await import('./queue.ts')).queueCommand, summary: 'show the durable OOS outbox' },
  dlq: { run: async () => (await import('./dead-letters.ts')).deadLettersCommand, summary: 'list, show, replay or discard dead letters (alias: dead-letters)' },
  metrics: { run: async () => (await import('./metrics.ts')).metricsCommand, summary: 'throughput and p50/p95/p99 of queue dwell, attempt and end-to-end latency' },
  pause: { run: async () => (await import('./sending.ts')).sendingCommand('pause'), summary: 'stop sending new requests (in-flight results are still stored)' },
  resume: { run: async () => (await import('./sending.ts')).sendingCommand('resume'), summary: 'send again after pause' },
  report: { run: async () => (await import('./report.ts')).reportCommand, summary: 'daily summary of the OOS flow (report daily)' },
  backup: { run: async () => (await import('./backup.ts')).backupCommand, summary: 'copy the database while the runtime runs, verified (restore: docs/operations.md)' },
  keys: { run: async () => (await import('./keys.ts')).keysCommand, summary: 'generate a CURVE key pair for the ZeroMQ sockets (keys generate; docs/security.md)' },
  'validate-data': { run: async () => (await import('./validate-data.ts')).validateDataCommand, summary: 'check a historical M1 candle CSV as the data gate does' },
};

/** Other names of commands, kept working. */
const ALIASES: Record<string, string> = { 'dead-letters': 'dlq' };
/** `shoal sending pause|resume` is `shoal pause|resume`. */
const SENDING = 'sending';

export const USAGE = `Usage: shoal COMMAND [options]

Fault-tolerant OOS validation for the trading host: a durable outbox, supervised actors, dead
letters you can replay, and reports. Commands:

${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(15)}${c.summary}`)
  .join('\n')}

Run 'shoal COMMAND --help' for a command's options. Most commands take --db PATH (default
$SHOAL_DB or ./shoal.db). 'shoal --version' prints the version; --verbose, anywhere on the line,
prints the stack of an unexpected error.

Exit codes: 0 ok; 1 a check failed or nothing matched; 2 usage or input error; 3 no runtime
reachable (docs/cli.md).
`;

export async function main(argv: string[], out: CommandOutput = processOutput): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    out.stdout(USAGE);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    out.stdout(`shoal ${await version()}\n`);
    return 0;
  }
  if (name === SENDING) return (await import('./sending.ts')).sendingCommand()(rest, out);
  const command = COMMANDS[ALIASES[name] ?? name];
  if (!command) {
    out.stderr(`shoal: unknown command '${name}'\n\n${USAGE}`);
    return 2;
  }
  return (await command.run())(rest, out);
}

/** The package's version, from the package.json above this module (cli/ in the source, dist/cli/ built). */
async function version(): Promise<string> {
  const { readFileSync } = await import('node:fs');
  for (const up of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'shoal' && pkg.version) return pkg.version;
    } catch {
      // Not at this depth.
    }
  }
  return 'unknown';
}
