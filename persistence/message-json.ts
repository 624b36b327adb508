import { ActorRef } from '../runtime/cell.ts';

/**
 * Turns an actor message into JSON for the dead-letter table and back. Messages may hold actor
 * refs (kept as their path), Buffers (base64), bigints and cycles, none of which JSON takes.
 */
export function messageToJson(message: unknown): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(message, function (this: unknown, _key, value: unknown) {
    if (value instanceof ActorRef) return { $ref: value.path };
    if (typeof value === 'bigint') return { $bigint: value.toString() };
    if (value !== null && typeof value === 'object') {
      const v = value as { type?: string; data?: unknown };
      // Buffer.toJSON has run by now: { type: 'Buffer', data: [...] }
      if (v.type === 'Buffer' && Array.isArray(v.data)) return { $bytes: Buffer.from(v.data as number[]).toString('base64') };
      if (seen.has(value)) return '[circular]';
      seen.add(value);
    }
    if (typeof value === 'number' && !Number.isFinite(value)) return { $number: String(value) };
    return value;
  }) ?? 'null';
}

/** The inverse of messageToJson; refs are resolved through `lookup` (undefined when the actor is gone). */
export function messageFromJson(json: string, lookup: (path: string) => ActorRef<any> | undefined = () => undefined): unknown {
  return JSON.parse(json, (_key, value: unknown) => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const v = value as Record<string, unknown>;
      const keys = Object.keys(v);
      if (keys.length === 1) {
        if (typeof v.$ref === 'string') return lookup(v.$ref);
        if (typeof v.$bytes === 'string') return Buffer.from(v.$bytes, 'base64');
        if (typeof v.$bigint === 'string') return BigInt(v.$bigint);
        if (typeof v.$number === 'string') return Number(v.$number);
      }
    }
    return value;
  });
}
