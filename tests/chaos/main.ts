/**
 * `npm run chaos -- [--mode direct|bridge] [--service stand-in|bundled] [--minutes N | --cycles N] [--seed S] [--per-cycle N] [--faults a,b] [--keep]`: the long form
 * of the fault-injection suite. Prints the seed first (rerun with it to replay the schedule), one
 * line per cycle, then a summary ending in `lost N` and `applied twice N`; exits 1 on any
 * violation, printing the history of the first violating request.
 */
import { parseArgs } from 'node:util';
import { BUNDLED_FAULTS, FAULTS, runChaos, type Fault } from './run.ts';
import { BRIDGE_BUNDLED_FAULTS, BRIDGE_FAULTS, isBridgeReport } from './bridge.ts';
import { STAND_IN_ONLY_FAULTS } from './bundled-service.ts';
import { formatAudit } from '../../persistence/audit.ts';

const USAGE = `Usage: npm run chaos -- [--mode direct|bridge] [--service stand-in|bundled] [--minutes N | --cycles N] [--seed S] [--per-cycle N] [--faults a,b] [--keep]

Runs shoal in a child process beside a misbehaving backtest service (late, duplicate, garbage and
missing answers, poison requests), ends every cycle with a fault (SIGKILL at a chosen point,
inside a commit or inside a WAL checkpoint, the service's process SIGKILLed, a second process
holding the write lock, the wall clock stepping by up to an hour, a graceful stop), recovers, and
checks the history against the store: nothing lost, nothing applied twice, no spurious timeout, nothing stuck, an intact database.

  --mode M        direct (default): shoal embedded in a host process; bridge: the built
                  \`shoal start --bridge\` between a stand-in host process (killed and
                  restarted too) and the service; a frame the host sent that shoal never
                  stored is counted (the host's protocol has no acknowledgement);
                  runs dist/: npm run build first
  --service S     either mode: stand-in (default), the misbehaving stand-in above, which
                  tells the driver every request and answer; bundled: the built bundled
                  backtest service (dist/backtester/main.js, echo engine, poison requests as
                  its --fail-for strategies; npm run build first), SIGKILLed and restarted on
                  the same endpoints by service-crash. It answers each request once, 150 ms
                  after taking it: no late, duplicate, garbage or missing answers, and ${STAND_IN_ONLY_FAULTS.join(', ')} (which
                  scripts the stand-in's answers) is left out; the checker skips, and names
                  in the summary, the rules that need the service's own records
  --minutes N     run cycles for N minutes (at least one of each fault)
  --cycles N      run exactly N cycles (default: one of each fault)
  --seed S        the schedule's seed (default: random, printed first)
  --per-cycle N   new requests per cycle (default 24)
  --faults a,b    direct mode: only these faults (default all: ${FAULTS.join(', ')};
                  with --service bundled: ${BUNDLED_FAULTS.join(', ')});
                  bridge mode runs ${BRIDGE_FAULTS.join(', ')}
                  (with --service bundled: ${BRIDGE_BUNDLED_FAULTS.join(', ')})
  --keep          keep the run's folder (database, workload) and print where it is
`;

const { values } = parseArgs({
  options: { mode: { type: 'string' }, service: { type: 'string' }, minutes: { type: 'string' }, cycles: { type: 'string' }, seed: { type: 'string' }, 'per-cycle': { type: 'string' }, faults: { type: 'string' }, keep: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  strict: true,
});
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const num = (name: string, v: string | undefined) => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) {
    process.stderr.write(`chaos: --${name} must be a non-negative number, got '${v}'\n`);
    process.exit(2);
  }
  return n;
};
if (values.mode !== undefined && values.mode !== 'direct' && values.mode !== 'bridge') {
  process.stderr.write(`chaos: --mode must be direct or bridge, got '${values.mode}'\n`);
  process.exit(2);
}
if (values.service !== undefined && values.service !== 'stand-in' && values.service !== 'bundled') {
  process.stderr.write(`chaos: --service must be stand-in or bundled, got '${values.service}'\n`);
  process.exit(2);
}
if (values.mode === 'bridge' && values.faults !== undefined) {
  process.stderr.write('chaos: --faults picks among the direct mode\'s faults; bridge mode runs its own schedule\n');
  process.exit(2);
}
const faults = values.faults?.split(',').map((f) => f.trim());
const allowed: readonly string[] = values.service === 'bundled' ? BUNDLED_FAULTS : FAULTS;
const unknown = faults?.filter((f) => !allowed.includes(f)) ?? [];
if (unknown.length > 0 || faults?.length === 0) {
  process.stderr.write(`chaos: --faults takes names from ${allowed.join(', ')}; not known here: ${unknown.join(', ')}\n`);
  process.exit(2);
}
const seed = num('seed', values.seed) ?? Math.floor(Math.random() * 2 ** 31);
console.log(`seed ${seed}`);
const report = await runChaos({
  seed,
  mode: values.mode as 'direct' | 'bridge' | undefined,
  service: values.service as 'stand-in' | 'bundled' | undefined,
  minutes: num('minutes', values.minutes),
  cycles: num('cycles', values.cycles),
  perCycle: num('per-cycle', values['per-cycle']),
  faults: faults as Fault[] | undefined,
  keep: values.keep,
  log: (line) => console.log(line),
});
const s = report.summary;
const bundled = report.service === 'bundled';
console.log(`service: ${bundled ? 'the bundled backtester (dist/backtester/main.js)' : 'the stand-in'}; faults run: ${Object.entries(report.faultsRun ?? {}).map(([f, n]) => `${f} ${n}`).join(', ')}`);
if (bundled) console.log(`not run with the bundled service: ${STAND_IN_ONLY_FAULTS.join(', ')}; late, duplicate, garbage and missing answers`);
if (isBridgeReport(report)) {
  const b = report.bridge;
  console.log(
    `cycles ${report.cycles}, SIGKILLs ${report.kills} (shoal ${report.shoalKills}, host ${report.hostKills}), ${bundled ? 'backtester' : 'service'} SIGKILLs ${report.serviceKills}, strategies ${b.strategies}, requests sent by the host ${b.requests}, stored ${b.accepted}, refused by the intake ${b.refused}, done ${b.done}, dead ${b.dead}, superseded ${b.superseded}, ${bundled ? 'sends claimed by the outbox' : 'sends seen by the service'} ${b.sends}`,
  );
  console.log(`the store's audit: ${formatAudit(report.audit)}`);
  console.log(`results received by the host ${b.hostReceived}, duplicates to the host ${b.duplicatesToHost} (${b.duplicatesAfterHostDeath} after the host died, forwarded again by the reopen window; ${b.duplicatesWithoutStop} with no stop of shoal or the host between the copies)`);
  console.log(`frames never stored ${b.neverStored.length}${b.neverStored.length > 0 ? `: ${b.neverStored.join(', ')}` : ''}`);
  console.log(`strategies without a result for their latest request: poison ${b.unanswered.poison}, refused ${b.unanswered.refused}, other ${b.unanswered.other.length}${b.unanswered.other.length > 0 ? ` (${b.unanswered.other.join('; ')})` : ''}`);
} else {
  console.log(`cycles ${report.cycles}, SIGKILLs ${report.kills}, ${bundled ? 'backtester' : 'service'} SIGKILLs ${report.serviceKills}, requests ${s.requests}, accepted ${s.accepted}, done ${s.done}, dead ${s.dead}, ${bundled ? 'sends claimed by the outbox' : 'sends seen by the service'} ${s.sends}`);
}
if (s.skippedRules.length > 0) console.log(`rules not judged (no service records): ${s.skippedRules.join('; ')}`);
// The aimed faults, in either mode.
const a = report.aims;
console.log(`SIGKILLs aimed at a checkpoint ${a.checkpointKills}, landed inside one ${a.insideCheckpoint} (the WAL not yet emptied: ${a.insideWithFrames})`);
console.log(`SIGKILLs aimed inside a commit ${a.commitKills}, landed inside an open write transaction ${a.insideCommit} (the store after the kill held none of it: ${a.allOrNothing})`);
console.log(`clock jumps ${a.clockJumps}${a.clockJumps > 0 ? ` (via ${a.clockVia})` : ''}, spurious timeouts ${a.spuriousTimeouts}, stuck ${a.stuck}`);
if (a.skipped.length > 0) console.log(`skipped: ${a.skipped.join('; ')}`);
console.log(`integrity ${report.integrity}`);
console.log(`violations ${s.violations.length}`);
console.log(`lost ${s.lost}`);
console.log(`applied twice ${s.appliedTwice}`);
if (values.keep) console.log(`kept: ${report.dir}`);
if (report.firstViolation) {
  console.log(`first violation (seed ${seed}):\n${report.firstViolation}`);
  process.exit(1);
}
