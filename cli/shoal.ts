#!/usr/bin/env node
/** Entry point of the `shoal` command (package.json `bin`: dist/cli/shoal.js, run by plain node). */
import { main } from './main.ts';

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`shoal: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
}
