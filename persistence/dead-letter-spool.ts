import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import type { InsertDeadLetterCommand } from './dead-letters.ts';

/**
 * An append-only, fsynced file of dead letters for when the database cannot take them: letters
 * addressed to the db-writer itself (its own poison messages; it cannot write while it is the
 * one failing) and letters written while it is down. The db-writer imports and clears the spool
 * at its next successful start, so a letter is durable before its message leaves the mailbox
 * and ends up in the dead_letters table all the same.
 */
export class DeadLetterSpool {
  appended = 0;

  constructor(readonly path: string) {}

  append(letter: Omit<InsertDeadLetterCommand, 'type'>): void {
    const line = JSON.stringify({ type: 'insertDeadLetter', ...letter }) + '\n';
    const fd = openSync(this.path, 'a');
    try {
      writeSync(fd, line);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.appended++;
  }

  /** Reads the spooled letters; a torn last line (crash mid-append) is skipped. */
  read(): InsertDeadLetterCommand[] {
    if (!existsSync(this.path)) return [];
    const out: InsertDeadLetterCommand[] = [];
    for (const line of readFileSync(this.path, 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      try {
        out.push(JSON.parse(line) as InsertDeadLetterCommand);
      } catch {
        // torn write at a crash: the letter was never acknowledged as durable
      }
    }
    return out;
  }

  /** Removes the spool once its letters are committed (rename first, so a crash in between re-imports at worst, never loses). */
  clear(): void {
    if (!existsSync(this.path)) return;
    const tmp = `${this.path}.imported`;
    renameSync(this.path, tmp);
    unlinkSync(tmp);
  }
}
