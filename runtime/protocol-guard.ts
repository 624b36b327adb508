/**
 * An actor's protocol as data: the message kinds it takes, each with an optional check of its
 * fields. The guard it builds (Behaviour.accepts) lets an untyped value, such as a message read
 * back from the dead-letter store, be refused before it can reach a handler that would trip on it.
 */
export type FieldCheck = true | ((message: Readonly<Record<string, unknown>>) => boolean);

export function kindGuard<M extends { readonly kind: string }>(kinds: { readonly [K in M['kind']]: FieldCheck }): (message: unknown) => message is M {
  const table = new Map<string, FieldCheck>(Object.entries(kinds) as [string, FieldCheck][]);
  return (message: unknown): message is M => {
    if (message === null || typeof message !== 'object' || Array.isArray(message)) return false;
    const m = message as Record<string, unknown>;
    const check = typeof m.kind === 'string' ? table.get(m.kind) : undefined;
    if (check === undefined) return false;
    return check === true || check(m);
  };
}

/** Field checks the guards share. */
export const isOptional = (value: unknown, check: (v: unknown) => boolean): boolean => value === undefined || check(value);
export const isString = (v: unknown): v is string => typeof v === 'string';
export const isNumber = (v: unknown): v is number => typeof v === 'number' && !Number.isNaN(v);
export const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
