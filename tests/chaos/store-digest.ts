/**
 * A digest of everything a store holds (every row of every table of its own, in no particular
 * order), for the kill-inside-commit fault's all-or-nothing check: the digest after the kill must
 * be the one read while the killed transaction was open (what was committed before it), and the
 * trapped process's own digest inside that transaction (its uncommitted writes included) differs.
 */
import { createHash } from 'node:crypto';
import type { Database } from 'better-sqlite3';

export function storeDigest(db: Database): string {
  const tables = (db.prepare("select name from sqlite_schema where type = 'table' and name not like 'sqlite_%' order by name").all() as { name: string }[]).map((t) => t.name);
  const all = createHash('sha256');
  for (const table of tables) {
    // Each row's digest, sorted: the digest does not depend on the order rows are read in.
    const rows = (db.prepare(`select * from "${table.replaceAll('"', '""')}"`).raw().all() as unknown[][]).map((row) => createHash('sha256').update(JSON.stringify(row)).digest('hex')).sort();
    all.update(`${table}\n${rows.join('\n')}\n`);
  }
  return all.digest('hex');
}
