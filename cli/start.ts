/**
 * `shoal start [--config FILE] [flags]`: runs the runtime in the foreground until SIGTERM/SIGINT.
 * The work is in app/service.ts (lifecycle) and app/service-config.ts (configuration layers);
 * this module only turns the command line into their inputs and prints usage errors.
 */
import { ConfigError } from '../app/config-schema.ts';
import { CONFIG_FILE_VARIABLE, effectiveConfig, ENV_KEYS, loadServiceConfig, secretValues, START_FLAGS, type ServiceSettings } from '../app/service-config.ts';
import { createLogger, scrubber } from '../app/log.ts';
import { loadCurve } from '../app/curve.ts';
import { EXIT, runService } from '../app/service.ts';
import { type CommandOutput, type FlagSpec, parseFlags, runCommand, UsageError } from './args.ts';

/** An option and its help, the help wrapped under itself at 100 columns. */
function column(left: string, text: string): string {
  const indent = 32;
  const words = text.split(' ');
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line && indent + line.length + 1 + w.length > 100) {
      lines.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  lines.push(line);
  const head = `  ${left}`;
  const first = head.length < indent ? `${head.padEnd(indent)}${lines[0]}` : `${head}\n${' '.repeat(indent)}${lines[0]}`;
  return [first, ...lines.slice(1).map((l) => `${' '.repeat(indent)}${l}`)].join('\n');
}

export const START_USAGE = `Usage: shoal start [--config FILE] [options]

Runs the shoal runtime in the foreground, logging one JSON object per line on stdout (a readable
form on a terminal), until SIGTERM or SIGINT. It then stops taking and sending new work, waits
up to the drain timeout for the results of requests in flight, closes its sockets, checkpoints
the database and exits 0. A second signal stops it at once.

Configuration, each later source winning key by key: built-in defaults (the sockets follow the
host's SWIMMY_ZMQ_HOST, SWIMMY_PORT_BACKTEST_REQ and SWIMMY_PORT_BACKTEST_RES), the config file
(JSON, the keys of docs/configuration.md), the variables
${Object.keys(ENV_KEYS).join(', ')}, then these options.
An unknown key or a bad value stops the start with one line.

${column('--config FILE', `JSON config file (default $${CONFIG_FILE_VARIABLE}, else none)`)}
${START_FLAGS.map((f) => column(`--${f.flag}${f.value ? ` ${f.value}` : ''}`, `${f.help} (key ${f.key})`)).join('\n')}
${column('--print-config', 'print the configuration it would run with (secrets hidden), and exit')}
${column('-h, --help', 'show this help')}

Examples:
  shoal start --config /etc/shoal/shoal.json
  shoal start --db /var/lib/shoal/shoal.db --data-dir /srv/data/historical --log-level debug
  SHOAL_DB=/tmp/try.db shoal start --print-config

Exit codes: 0 stopped on a signal after draining; 1 could not start (e.g. the database is in use,
a port is taken) or the runtime stopped by itself (a supervisor gave up); 2 bad usage or a bad
configuration; 128+N a second signal N stopped it at once (130 SIGINT, 143 SIGTERM).
`;

export const START_OPTIONS: FlagSpec = {
  config: { type: 'string' },
  'print-config': { type: 'boolean' },
  ...Object.fromEntries(START_FLAGS.map((f) => [f.flag, f.type === 'number' ? { type: 'number', integer: true } : { type: f.type }])),
};

/**
 * What the log scrubber removes: the configuration's secrets and the CURVE secret key, read (and
 * checked: a bad key file is a configuration error) from its file.
 */
export function startSecrets(config: ReturnType<typeof effectiveConfig>): string[] {
  return [...secretValues(config), ...(loadCurve(config.curve)?.secrets ?? [])];
}

export async function startCommand(argv: string[], out: CommandOutput, env: Record<string, string | undefined> = process.env): Promise<number> {
  return runCommand('start', START_USAGE, out, async () => {
    const { flags, help } = parseFlags(argv, START_OPTIONS);
    if (help) {
      out.stdout(START_USAGE);
      return 0;
    }
    let settings: ServiceSettings;
    let secrets: string[];
    try {
      settings = loadServiceConfig({ configFile: flags.config as string | undefined, flags, env });
      const config = effectiveConfig(settings, env);
      secrets = startSecrets(config);
      if (flags['print-config']) {
        out.stdout(`${scrubber(secrets)(JSON.stringify(config, null, 2))}\n`);
        return 0;
      }
    } catch (e) {
      if (e instanceof ConfigError || e instanceof UsageError) {
        out.stderr(`shoal start: ${e.message}\n`);
        return EXIT.usage;
      }
      // A malformed SWIMMY_* variable is also a bad configuration (config.ts throws it plainly).
      if (e instanceof Error && /^SWIMMY_/.test(e.message)) {
        out.stderr(`shoal start: ${e.message}\n`);
        return EXIT.usage;
      }
      throw e;
    }
    const log = await createLogger({ level: settings.logLevel, pretty: process.stdout.isTTY === true, colour: !env.NO_COLOR, secrets });
    return runService(settings, { log, env });
  });
}
