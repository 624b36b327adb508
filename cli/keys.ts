/**
 * `shoal keys generate [--out DIR] [--name NAME] [--force] [--json]`: a new CURVE key pair for
 * shoal's sockets (transport/curve-keys.ts). The secret key is written to a 0600 file and never
 * printed; the public key is printed, for the peer's allow-list or server key.
 */
import path from 'node:path';
import { KeyFileError, writeKeyPair } from '../transport/curve-keys.ts';
import { type CommandOutput, type FlagSpec, UsageError, parseFlags, runCommand } from './args.ts';

export const KEYS_USAGE = `Usage: shoal keys generate [--out DIR] [--name NAME] [--force] [--json]

Writes a new ZeroMQ CURVE key pair for shoal's sockets (docs/security.md): DIR/NAME.key holds
the secret key (mode 0600: only its owner may read it) and DIR/NAME.pub the public key (mode
0644). Each is one line of 40 Z85 characters. The secret key is never printed; the public key is,
to put in the peer's configuration (the allow-list of the side that binds, or the server key of
the side that connects). Point shoal's curve.secretKeyFile at NAME.key.

  --out DIR     the directory to write in; it must exist (default: the current directory)
  --name NAME   the files' name: letters, digits, '.', '-', '_' (default: shoal)
  --force       replace an existing key pair of that name (default: refuse)
  --json        print { secretKeyFile, publicKeyFile, publicKey } as JSON
  -h, --help    show this help

Examples:
  shoal keys generate --out /etc/shoal/keys --name shoal
  shoal keys generate --out /etc/shoal/keys --name backtest-service --json

Exit codes: 0 written; 1 the files could not be written (e.g. permission denied); 2 bad usage,
NAME.key or NAME.pub exists without --force, or DIR does not exist.
`;

export const KEYS_OPTIONS = {
  out: { type: 'string' },
  name: { type: 'string' },
  force: { type: 'boolean' },
  json: { type: 'boolean' },
} as const satisfies FlagSpec;

export async function keysCommand(argv: string[], out: CommandOutput): Promise<number> {
  return runCommand('keys', KEYS_USAGE, out, async () => {
    const { flags, help, positionals } = parseFlags(argv, KEYS_OPTIONS, { allowPositionals: true });
    if (help) {
      out.stdout(KEYS_USAGE);
      return 0;
    }
    const [sub, ...extra] = positionals;
    if (sub === undefined) throw new UsageError('missing subcommand (generate)');
    if (sub !== 'generate') throw new UsageError(`unknown subcommand '${sub}' (known: generate)`);
    if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`);
    const dir = flags.out ?? '.';
    try {
      const r = writeKeyPair(dir, flags.name ?? 'shoal', { force: flags.force === true });
      const files = { secretKeyFile: path.resolve(r.secretKeyFile), publicKeyFile: path.resolve(r.publicKeyFile), publicKey: r.publicKey };
      if (flags.json) out.stdout(`${JSON.stringify(files, null, 2)}\n`);
      else out.stdout(`secret key: ${files.secretKeyFile} (mode 0600, keep it private)\npublic key: ${files.publicKeyFile}\n${files.publicKey}\n`);
      return 0;
    } catch (e) {
      if (!(e instanceof KeyFileError)) throw e;
      out.stderr(`shoal keys generate: ${e.message}\n`);
      return e.code === 'input' ? 2 : 1;
    }
  });
}
