/**
 * Durable watermarks (e.g. the rank evaluator's change_seq position), written in the same batch
 * as the work they account for, so a restart resumes exactly where the committed work ended.
 */
import type { CommandSpec } from './command.ts';
import type { Store } from './connection.ts';
import { perConnection, prepared } from './prepared.ts';
import { requireInteger, requireText } from './sql-helpers.ts';

export interface SetCursorCommand {
  type: 'setCursor';
  name: string;
  value: number;
}

export type SetCursorOutcome = { type: 'setCursor'; status: 'set'; name: string; value: number };

const statements = perConnection(({ sqlite, db }: Store) => ({
  set: prepared(sqlite, ($: { name: string; value: number; now: number }) =>
    db
      .insertInto('cursors')
      .values({ name: $.name, value: $.value, updated_at: $.now })
      .onConflict((oc) =>
        oc.column('name').doUpdateSet((eb) => ({ value: eb.ref('excluded.value'), updated_at: eb.ref('excluded.updated_at') })),
      ),
  ),
  get: prepared(sqlite, ($: { name: string }) => db.selectFrom('cursors').select('value').where('name', '=', $.name)),
}));

function setCursor(store: Store, c: SetCursorCommand, now: number): SetCursorOutcome {
  requireText('setCursor', 'name', c.name);
  requireInteger(`setCursor name=${c.name}`, 'value', c.value);
  statements(store).set.run({ name: c.name, value: c.value, now });
  return { type: 'setCursor', status: 'set', name: c.name, value: c.value };
}

export const setCursorSpec: CommandSpec<SetCursorCommand, SetCursorOutcome> = {
  type: 'setCursor',
  apply: setCursor,
  describe: (c) => `setCursor (cursors) name=${c.name}`,
};

/** The cursor's value, or undefined if it was never set. */
export function getCursor(store: Store, name: string): number | undefined {
  return statements(store).get.get({ name })?.value;
}
