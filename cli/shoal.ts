#!/usr/bin/env node
/** Entry point of the `shoal` command (package.json `bin`: dist/cli/shoal.js, run by plain node). */
import { main } from './main.ts';

// --verbose is everyone's: an unexpected error is one line without it, its stack with it.
const args = process.argv.slice(2);
const end = args.indexOf('--');
const verbose = (end < 0 ? args : args.slice(0, end)).includes('--verbose');
const argv = verbose ? args.filter((a, i) => a !== '--verbose' || (end >= 0 && i > end)) : args;
try {
  process.exitCode = await main(argv);
} catch (e) {
  const line = e instanceof Error ? e.message.split('\n')[0] : String(e);
  process.stderr.write(verbose && e instanceof Error && e.stack ? `shoal: ${e.stack}\n` : `shoal: ${line} (--verbose for the stack)\n`);
  process.exitCode = 1;
}
