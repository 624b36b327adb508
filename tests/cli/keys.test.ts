/**
 * `shoal keys generate` as a user runs it (the built CLI): a key pair in DIR, the secret 0600 and
 * never printed, the public key printed; no overwrite without --force; one-line usage errors with
 * exit code 2; --help names every option with an example.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isZ85Key } from '../../transport/curve.ts';
import { useTempStores } from '../persistence/helpers.ts';
import { runCli } from './cli-process.ts';

const temp = useTempStores();
const mode = (file: string) => fs.statSync(file).mode & 0o777;

describe('shoal keys generate', () => {
  // Rule: the pair is NAME.key (0600) and NAME.pub (0644); the public key is printed, the secret never.
  it('writes the pair with its modes and prints only the public key', async () => {
    const dir = temp.dir();
    const r = await runCli(['keys', 'generate', '--out', dir, '--name', 'results']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const secretFile = path.join(dir, 'results.key');
    const publicFile = path.join(dir, 'results.pub');
    expect(mode(secretFile)).toBe(0o600);
    expect(mode(publicFile)).toBe(0o644);
    const secret = fs.readFileSync(secretFile, 'utf8').trim();
    const publicKey = fs.readFileSync(publicFile, 'utf8').trim();
    expect(r.stdout).toBe(`secret key: ${secretFile} (mode 0600, keep it private)\npublic key: ${publicFile}\n${publicKey}\n`);
    expect(r.stdout).not.toContain(secret);

    const json = await runCli(['keys', 'generate', '--out', dir, '--name', 'other', '--json']);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as { secretKeyFile: string; publicKeyFile: string; publicKey: string };
    expect(report).toEqual({ secretKeyFile: path.join(dir, 'other.key'), publicKeyFile: path.join(dir, 'other.pub'), publicKey: fs.readFileSync(path.join(dir, 'other.pub'), 'utf8').trim() });
    expect(isZ85Key(report.publicKey)).toBe(true);
  });

  // Rule: an existing pair is kept unless --force; the refusal is one line with exit code 2.
  it('refuses to overwrite without --force and replaces with it', async () => {
    const dir = temp.dir();
    expect((await runCli(['keys', 'generate', '--out', dir])).code).toBe(0);
    const before = fs.readFileSync(path.join(dir, 'shoal.key'), 'utf8');
    const refused = await runCli(['keys', 'generate', '--out', dir]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe(`shoal keys generate: ${path.join(dir, 'shoal.key')} and ${path.join(dir, 'shoal.pub')} already exist; use --force to replace the key pair\n`);
    expect(fs.readFileSync(path.join(dir, 'shoal.key'), 'utf8')).toBe(before);
    const forced = await runCli(['keys', 'generate', '--out', dir, '--force']);
    expect(forced.code).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'shoal.key'), 'utf8')).not.toBe(before);
    expect(mode(path.join(dir, 'shoal.key'))).toBe(0o600);
  });

  // Rule: bad usage is one line then the usage, exit code 2; --help lists every option and an example, exit 0.
  it('answers bad usage with one line and exit code 2, and --help with every option', async () => {
    const dir = temp.dir();
    const missing = await runCli(['keys']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^shoal keys: missing subcommand \(generate\)\n\nUsage: shoal keys generate/);
    expect((await runCli(['keys', 'rotate'])).stderr).toMatch(/^shoal keys: unknown subcommand 'rotate' \(known: generate\)\n/);
    expect((await runCli(['keys', 'generate', '--bits', '4096'])).stderr).toMatch(/^shoal keys: unknown option --bits\n/);
    const badName = await runCli(['keys', 'generate', '--out', dir, '--name', '../x']);
    expect(badName).toMatchObject({ code: 2, stderr: "shoal keys generate: key name must be letters, digits, '.', '-' or '_' (not starting with '.'), got '../x'\n" });
    const noDir = await runCli(['keys', 'generate', '--out', path.join(dir, 'nope')]);
    expect(noDir.code).toBe(2);
    expect(noDir.stderr).toMatch(/no such directory/);
    const help = await runCli(['keys', '--help']);
    expect(help.code).toBe(0);
    for (const option of ['--out DIR', '--name NAME', '--force', '--json', '-h, --help', 'Examples:', 'Exit codes:']) expect(help.stdout).toContain(option);
    expect((await runCli(['--help'])).stdout).toMatch(/\n {2}keys {11}generate a CURVE key pair/);
  });
});
