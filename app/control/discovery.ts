/**
 * How the CLI finds the running runtime's control endpoint: `<db>.control.json` beside the
 * database (pid, url or socket path), written once the endpoint listens, removed on a clean stop.
 * A file whose pid is gone (a killed runtime) is ignored. Light on imports: every CLI command reads it.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';

export interface ControlAddress {
  readonly pid: number;
  /** http://127.0.0.1:PORT for TCP. */
  readonly url?: string;
  /** The Unix socket path. */
  readonly socket?: string;
  readonly startedAt: number;
  /** Whether the reads need the token too (a remote bind). */
  readonly readsNeedToken: boolean;
}

export function controlFileOf(dbPath: string): string {
  return `${dbPath}.control.json`;
}

export function writeControlFile(dbPath: string, address: ControlAddress): void {
  const target = controlFileOf(dbPath);
  const tmp = `${target}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(address, null, 1)}\n`);
  renameSync(tmp, target);
}

/** Removes the file if it is this process's (a newer runtime's file is left alone). */
export function removeControlFile(dbPath: string, pid = process.pid): void {
  const current = readRaw(dbPath);
  if (current && current.pid === pid) rmSync(controlFileOf(dbPath), { force: true });
}

/** Whether a process with this pid exists on this host (EPERM: it exists, owned by someone else). */
export function processExists(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export type Discovery = { found: true; address: ControlAddress } | { found: false; reason: string };

/** The endpoint of the runtime working on `dbPath`, or why there is none. */
export function discoverControl(dbPath: string, exists: (pid: number) => boolean = processExists): Discovery {
  let address: ControlAddress | undefined;
  try {
    address = readRaw(dbPath);
  } catch (e) {
    return { found: false, reason: (e as Error).message };
  }
  if (!address) return { found: false, reason: `no control endpoint is published for ${dbPath} (${controlFileOf(dbPath)} is missing: no runtime runs with this database, or it runs embedded without one)` };
  if (!exists(address.pid)) return { found: false, reason: `the runtime that published ${controlFileOf(dbPath)} (pid ${address.pid}) is gone` };
  return { found: true, address };
}

function readRaw(dbPath: string): ControlAddress | undefined {
  let text: string;
  try {
    text = readFileSync(controlFileOf(dbPath), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read ${controlFileOf(dbPath)}: ${(e as Error).message}`);
  }
  try {
    const a = JSON.parse(text) as ControlAddress;
    if (typeof a.pid !== 'number' || (typeof a.url !== 'string' && typeof a.socket !== 'string')) throw new Error('no pid and address');
    return a;
  } catch (e) {
    throw new Error(`${controlFileOf(dbPath)} is not a control address: ${(e as Error).message}`);
  }
}
