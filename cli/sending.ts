/**
 * `shoal pause` / `shoal resume` (also `shoal sending pause|resume`): stops and restarts sending
 * new requests to the backtest service, through the running runtime's control endpoint. Needs a
 * runtime: a pause is an instruction to a running sender, not a stored state.
 */
import { type CommandOutput, type FlagSpec, UsageError, dbPathFrom, formatTime, parseFlags, runCommand } from './args.ts';
import { call, findRuntime, NO_RUNTIME, RefusedError, tokenFor, UnreachableError } from './runtime-link.ts';

export const SENDING_USAGE = `Usage:
  shoal pause [--db PATH] [--token TOKEN] [--json]
  shoal resume [--db PATH] [--token TOKEN] [--json]
  shoal sending (pause | resume) [options]

pause stops the running runtime from sending new requests to the backtest service; requests
already in flight keep their leases and their results are still stored. resume sends what came
due meanwhile at once. A pause lasts until resume or until the runtime stops (a restarted runtime
sends again). Both go through the runtime's control endpoint and need its token.

  --db PATH        the database of the runtime (default $SHOAL_DB, else ./shoal.db)
  --token TOKEN    the control token (default $SHOAL_TOKEN, else the <db>.token file beside the
                   database, readable by the runtime's user only)
  --json           print the sender's state as JSON ({ paused, pausedAt, inFlight })
  -h, --help       show this help

Examples:
  shoal pause --db /var/lib/shoal/shoal.db
  SHOAL_TOKEN=$(cat /var/lib/shoal/shoal.db.token) shoal resume --db /var/lib/shoal/shoal.db

Exit codes: 0 done; 1 the runtime could not do it (e.g. its sender is restarting: try again);
2 bad usage, or the token is missing or wrong; 3 no runtime reachable.
`;

export const SENDING_OPTIONS = {
  db: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
} as const satisfies FlagSpec;

/** `fixed` is the action when run as `shoal pause` / `shoal resume`; `shoal sending` reads it from the arguments. */
export function sendingCommand(fixed?: 'pause' | 'resume') {
  return async (argv: string[], out: CommandOutput, env: Record<string, string | undefined> = process.env): Promise<number> => {
    const name = fixed ?? 'sending';
    return runCommand(name, SENDING_USAGE, out, async () => {
      const { flags, positionals, help } = parseFlags(argv, SENDING_OPTIONS, { allowPositionals: fixed === undefined });
      if (help) {
        out.stdout(SENDING_USAGE);
        return 0;
      }
      const action = fixed ?? positionals[0];
      if (action !== 'pause' && action !== 'resume') throw new UsageError(action === undefined ? 'missing action (pause or resume)' : `unknown action '${action}' (known: pause, resume)`);
      if (fixed === undefined && positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
      const db = dbPathFrom(flags.db, env);
      const link = findRuntime(db);
      if (!link.up) {
        out.stderr(`shoal ${name}: no runtime reachable: ${link.reason}\n`);
        return NO_RUNTIME;
      }
      let token: string;
      try {
        token = tokenFor(db, flags.token, env);
      } catch (e) {
        out.stderr(`shoal ${name}: ${(e as Error).message} (give --token or $SHOAL_TOKEN)\n`);
        return 2;
      }
      try {
        const s = await call<{ paused: boolean; pausedAt: number | null; inFlight: number }>(link.address, 'POST', `/v1/sending/${action}`, { token });
        if (flags.json) out.stdout(`${JSON.stringify(s, null, 2)}\n`);
        else out.stdout(s.paused ? `sending paused (since ${formatTime(s.pausedAt)}); ${s.inFlight} request(s) in flight still get their results\n` : `sending resumed; ${s.inFlight} request(s) in flight\n`);
        return 0;
      } catch (e) {
        if (e instanceof UnreachableError) {
          out.stderr(`shoal ${name}: no runtime reachable: ${e.message}\n`);
          return NO_RUNTIME;
        }
        if (e instanceof RefusedError) {
          out.stderr(`shoal ${name}: refused: ${e.message}\n`);
          return e.exitCode;
        }
        throw e;
      }
    });
  };
}
