/**
 * The `curve` configuration key turned into each socket's CURVE option: the key pair is read from
 * its files once at start; a socket shoal binds is a CURVE server with the allow-list, a socket
 * shoal connects is a CURVE client that checks the server's key. Every socket shoal owns (the
 * sender's PUSH, the result PULL, and any other added later) takes its option from here.
 */
import type { CurveClient, CurveKeyPair, CurveServer } from '../transport/curve.ts';
import { KeyFileError, readKeyPair } from '../transport/curve-keys.ts';
import { ConfigError } from './config-schema.ts';

/** The `curve` key as configured (docs/configuration.md). */
export interface CurveSettings {
  readonly enabled?: boolean;
  readonly secretKeyFile?: string;
  readonly publicKeyFile?: string;
  /** The public key of the service shoal connects to. */
  readonly serverPublicKey?: string;
  /** Public keys allowed to connect to the sockets shoal binds. */
  readonly allowedClientKeys?: readonly string[];
}

/** What the sockets take: the option for a socket that binds, and for one that connects. */
export interface SocketCurve {
  readonly server: CurveServer;
  readonly client: CurveClient;
  /** The secret key, for the log's scrubber. */
  readonly secrets: readonly string[];
}

/** Whether the settings turn CURVE on. */
export function curveEnabled(settings: CurveSettings | undefined): settings is CurveSettings {
  return settings?.enabled === true;
}

/** What is missing for CURVE to run (one line each); empty when the settings are complete. Pure. */
export function missingCurveSettings(settings: CurveSettings): string[] {
  const missing: string[] = [];
  if (!settings.secretKeyFile) missing.push("'curve.secretKeyFile' (shoal's secret key, from shoal keys generate)");
  if (!settings.serverPublicKey) missing.push("'curve.serverPublicKey' (the public key of the service shoal connects to)");
  if (!settings.allowedClientKeys || settings.allowedClientKeys.length === 0) missing.push("'curve.allowedClientKeys' (the public keys that may connect to shoal's result socket)");
  return missing;
}

/** The sockets' options from settings and a key pair (pure). */
export function socketCurve(settings: CurveSettings, keys: CurveKeyPair): SocketCurve {
  return {
    server: { role: 'server', keys, allowedClientKeys: settings.allowedClientKeys ?? [] },
    client: { role: 'client', keys, serverKey: settings.serverPublicKey ?? '' },
    secrets: [keys.secretKey],
  };
}

/**
 * Reads the key pair and gives each socket's option, or undefined when CURVE is off. Incomplete
 * settings or an unusable key file throw a ConfigError of one line (never with a key's text).
 */
export function loadCurve(settings: CurveSettings | undefined): SocketCurve | undefined {
  if (!curveEnabled(settings)) return undefined;
  const missing = missingCurveSettings(settings);
  if (missing.length > 0) throw new ConfigError(`curve is enabled but ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not set`);
  let keys: CurveKeyPair;
  try {
    keys = readKeyPair(settings.secretKeyFile!, settings.publicKeyFile);
  } catch (e) {
    if (e instanceof KeyFileError) throw new ConfigError(`curve: ${e.message}`);
    throw e;
  }
  // A secret key pasted where a public one belongs would be shown in every printed config and
  // start line: refuse it, without showing it.
  const misplaced = [settings.serverPublicKey, ...(settings.allowedClientKeys ?? [])].includes(keys.secretKey);
  if (misplaced) throw new ConfigError(`curve: shoal's secret key is among curve.serverPublicKey/curve.allowedClientKeys; those take public keys (the .pub files)`);
  return socketCurve(settings, keys);
}
