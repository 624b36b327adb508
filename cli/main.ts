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
  tree: { run: async () => (await import('./tree.ts')).treeCommand, summary: 'show the supervision tree and recent supervisor events' },
  queue: { run: async () => (await import('./queue.ts')).queueCommand, summary: 'show the durable OOS outbox' },
  'dead-letters': { run: async () => (await import('./dead-letters.ts')).deadLettersCommand, summary: 'list, show, replay or discard dead letters' },
  report: { run: async () => (await import('./report.ts')).reportCommand, summary: 'daily summary of the OOS flow (report daily)' },
  backup: { run: async () => (await import('./backup.ts')).backupCommand, summary: 'copy the database while the runtime runs, verified (restore: docs/operations.md)' },
  keys: { run: async () => (await import('./keys.ts')).keysCommand, summary: 'generate a CURVE key pair for the ZeroMQ sockets (keys generate; docs/security.md)' },
  'validate-data': { run: async () => (await import('./validate-data.ts')).validateDataCommand, summary: 'check a historical M1 candle CSV as the data gate does' },
};

export const USAGE = `Usage: shoal COMMAND [options]

Fault-tolerant OOS validation for the trading host: a durable outbox, supervised actors, dead
letters you can replay, and reports. Commands:

${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(15)}${c.summary}`)
  .join('\n')}

Run 'shoal COMMAND --help' for a command's options. Most commands take --db PATH (default
$SHOAL_DB or ./shoal.db).
`;

export async function main(argv: string[], out: CommandOutput = processOutput): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    out.stdout(USAGE);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    out.stderr(`shoal: unknown command '${name}'\n\n${USAGE}`);
    return 2;
  }
  return (await command.run())(rest, out);
}
