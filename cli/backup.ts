/**
 * `shoal backup --to FILE [--db PATH] [--force] [--json]`: an online, verified copy of the
 * database, safe while the runtime runs (persistence/backup.ts). Restore: docs/operations.md.
 */
import { BackupError, backupDatabase } from '../persistence/backup.ts';
import { type CommandOutput, type FlagSpec, UsageError, dbPathFrom, parseFlags, runCommand } from './args.ts';

export const BACKUP_USAGE = `Usage: shoal backup --to FILE [--db PATH] [--force] [--json]

Copies the database to FILE while the runtime keeps running: one consistent point in time,
through SQLite's backup API. The copy is verified before it is put in place (integrity check,
schema version, references) and is a single file (no -wal beside it). Restore it as
docs/operations.md says (stop the runtime, put the copy in the database's place, start).

  --to FILE     where the copy goes (required); its directory must exist
  --db PATH     the database (default $SHOAL_DB, else ./shoal.db); only read
  --force       replace FILE if it exists (default: refuse)
  --json        print the report as JSON
  -h, --help    show this help

Examples:
  shoal backup --db /var/lib/shoal/shoal.db --to /var/backups/shoal/shoal-$(date +%F).db
  shoal backup --to /tmp/shoal-copy.db --force --json

Exit codes: 0 copied and verified; 1 the copy failed or did not verify (nothing left at FILE);
2 bad usage, no database at PATH, FILE exists without --force, or its directory is missing.
`;

export const BACKUP_OPTIONS = {
  to: { type: 'string' },
  db: { type: 'string' },
  force: { type: 'boolean' },
  json: { type: 'boolean' },
} as const satisfies FlagSpec;

export async function backupCommand(argv: string[], out: CommandOutput, env: Record<string, string | undefined> = process.env): Promise<number> {
  return runCommand('backup', BACKUP_USAGE, out, async () => {
    const { flags, help } = parseFlags(argv, BACKUP_OPTIONS);
    if (help) {
      out.stdout(BACKUP_USAGE);
      return 0;
    }
    if (flags.to === undefined || flags.to === '') throw new UsageError('missing --to FILE (where the copy goes)');
    const db = dbPathFrom(flags.db, env);
    try {
      const r = await backupDatabase(db, flags.to, { overwrite: flags.force === true });
      if (flags.json) out.stdout(`${JSON.stringify(r, null, 2)}\n`);
      else {
        const rows = Object.entries(r.rows).map(([t, n]) => `${t} ${n}`).join(', ');
        out.stdout(`backed up ${r.source} to ${r.target}: ${r.bytes} bytes, schema version ${r.schemaVersion}, integrity ok, in ${r.ms} ms\nrows: ${rows}\n`);
      }
      return 0;
    } catch (e) {
      if (!(e instanceof BackupError)) throw e;
      out.stderr(`shoal backup: ${e.message}\n`);
      return e.code === 'input' ? 2 : 1;
    }
  });
}
