/**
 * `npm run soak -- --minutes 30 [--rate N] [--out DIR] [--seed S]`: shoal under a steady load with
 * random faults (the service's process SIGKILLed and restarted, the runtime killed with SIGKILL and
 * restarted), sampled every few seconds: throughput, p99 end-to-end latency, the runtime's heap
 * and RSS, the WAL's size. Writes soak.csv and soak.svg to the output folder and checks that
 * memory, WAL and p99 stay bounded: no growth trend over the second half (each series' growth
 * over that half, by a Theil-Sen fit, under 25% of its level; the least-squares fit is printed
 * beside it). Exits 1 when one grows.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { openStore } from '../../persistence/connection.ts';
import { percentile } from '../../domain/percentiles.ts';
import { freePort } from '../../transport/free-port.ts';
import { csv, validLines } from '../domain/candles/fixtures.ts';
import { ChaosService } from '../chaos/chaos-service.ts';
import { History } from '../chaos/history.ts';
import { seededRandom } from '../chaos/run.ts';
import { chartSvg, type Series } from './chart.ts';
import { secondHalfTrend } from './trend.ts';

const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
const GROWTH_LIMIT = 0.25;
const SAMPLE_MS = 5_000;

const { values } = parseArgs({
  options: { minutes: { type: 'string' }, rate: { type: 'string' }, out: { type: 'string' }, seed: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  strict: true,
});
if (values.help) {
  process.stdout.write(`Usage: npm run soak -- [--minutes N] [--rate N] [--out DIR] [--seed S]

Steady load (--rate requests/s, default 40) for --minutes (default 30) with random faults; writes
soak.csv and soak.svg to --out (default a new folder under the system's temp dir) and exits 1 if
heap, RSS, WAL size or p99 latency grows over the second half.
`);
  process.exit(0);
}
const minutes = Number(values.minutes ?? 30);
const rate = Number(values.rate ?? 40);
const seed = Number(values.seed ?? Math.floor(Math.random() * 2 ** 31));
if (!(minutes > 0) || !(rate > 0) || !Number.isFinite(seed)) {
  process.stderr.write('soak: --minutes and --rate must be positive numbers, --seed a number\n');
  process.exit(2);
}
const out = values.out ?? mkdtempSync(path.join(tmpdir(), 'shoal-soak-'));
mkdirSync(out, { recursive: true });
console.log(`seed ${seed}; ${minutes} min at ${rate} requests/s; output ${out}`);

const random = seededRandom(seed);
const dir = mkdtempSync(path.join(tmpdir(), 'shoal-soak-run-'));
const dbPath = path.join(dir, 'shoal.db');
writeFileSync(path.join(dir, 'USDJPY_M1.csv'), csv(validLines(200)));
const requestEndpoint = `tcp://127.0.0.1:${await freePort()}`;
const resultEndpoint = `tcp://127.0.0.1:${await freePort()}`;
const service = new ChaosService(requestEndpoint, resultEndpoint, new History(), random, { hang: 0.005, late: 0.005, twice: 0.01, garbage: 0.005 }, 4_000);
await service.start();

let memory = { heap: NaN, rss: NaN };
let generation = 0;
let host: ChildProcessWithoutNullStreams;
const startHost = () => {
  generation++;
  const settings = { dbPath, dataDir: dir, requestEndpoint, resultEndpoint, ratePerSec: rate, strategies: Math.max(64, rate * 4), generation };
  host = spawn(process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'tests/soak/fixtures/steady-host.ts'), JSON.stringify(settings)], { cwd: REPO_ROOT, stdio: 'pipe' });
  host.stderr.on('data', (d: Buffer) => process.stderr.write(d));
  createInterface({ input: host.stdout }).on('line', (line) => {
    try {
      const m = JSON.parse(line) as { t: string; heap?: number; rss?: number };
      if (m.t === 'mem') memory = { heap: m.heap! / 2 ** 20, rss: m.rss! / 2 ** 20 };
    } catch {
      // not a status line
    }
  });
};
startHost();

const t0 = Date.now();
const end = t0 + minutes * 60_000;
const rows: { t: number; throughput: number; p99: number; heap: number; rss: number; wal: number }[] = [];
let lastDone = 0;
let faults = 0;
const walSize = () => {
  try {
    return statSync(`${dbPath}-wal`).size / 2 ** 20;
  } catch {
    return 0;
  }
};
while (Date.now() < end) {
  await new Promise((r) => setTimeout(r, SAMPLE_MS));
  const now = Date.now();
  if (!existsSync(dbPath)) continue; // the first runtime is still starting
  const store = openStore({ path: dbPath, readonly: true });
  let done = lastDone;
  let latencies: number[] = [];
  try {
    done = (store.sqlite.prepare(`select count(*) as n from oos_requests where state = 'done'`).get() as { n: number }).n;
    latencies = (store.sqlite.prepare(`select completed_at - enqueued_at as ms from oos_requests where state = 'done' and completed_at >= ?`).all(now - SAMPLE_MS) as { ms: number }[]).map((r) => r.ms);
  } finally {
    store.close();
  }
  // Retention may delete finished rows: a drop in the count is not negative throughput.
  const throughput = Math.max(0, done - lastDone) / (SAMPLE_MS / 1_000);
  lastDone = done;
  const p99 = latencies.length ? percentile(latencies, 99) : NaN;
  rows.push({ t: now, throughput, p99, heap: memory.heap, rss: memory.rss, wal: walSize() });
  console.log(`${Math.round((now - t0) / 1_000)} s: ${throughput.toFixed(1)} done/s, p99 ${Number.isFinite(p99) ? Math.round(p99) : '-'} ms, heap ${memory.heap.toFixed(1)} MiB, rss ${memory.rss.toFixed(1)} MiB, wal ${walSize().toFixed(2)} MiB`);
  // A fault every minute or so, at random.
  const x = random();
  if (x < SAMPLE_MS / 60_000 / 2) {
    faults++;
    console.log('  fault: SIGKILL of the service process, restarted');
    // Restarted at once, as in the chaos run: start() binds through PullChannel, which waits out the port's release.
    await service.crash();
    await service.start();
  } else if (x < SAMPLE_MS / 60_000) {
    faults++;
    console.log('  fault: SIGKILL of the runtime, restarted');
    host!.kill('SIGKILL');
    await new Promise((r) => host.once('exit', r));
    memory = { heap: NaN, rss: NaN };
    startHost();
  }
}
host!.kill('SIGTERM');
await new Promise((r) => host.once('exit', r));
await service.stop();

const series = (name: keyof (typeof rows)[number], unit: string): Series => ({ name, unit, points: rows.map((r) => ({ t: r.t, v: r[name] })).filter((p) => Number.isFinite(p.v)) });
const charted = [series('throughput', 'done/s'), series('p99', 'ms'), series('heap', 'MiB'), series('rss', 'MiB'), series('wal', 'MiB')];
writeFileSync(path.join(out, 'soak.csv'), ['t_ms,throughput_per_s,p99_ms,heap_mib,rss_mib,wal_mib', ...rows.map((r) => [r.t - t0, r.throughput, r.p99, r.heap, r.rss, r.wal].map((v) => (Number.isFinite(v) ? +v.toFixed(3) : '')).join(','))].join('\n') + '\n');
writeFileSync(path.join(out, 'soak.svg'), chartSvg(`shoal soak: ${minutes} min at ${rate}/s, ${faults} faults, seed ${seed}`, charted));

let grew = false;
for (const s of charted.slice(1)) {
  const trend = secondHalfTrend(s.points);
  const ok = trend.relativeGrowth < GROWTH_LIMIT;
  grew ||= !ok;
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  console.log(`BOUNDED ${s.name}: second-half growth ${pct(trend.relativeGrowth)} of ${trend.mean.toFixed(2)} ${s.unit} (Theil-Sen; least squares ${pct(trend.leastSquares.relativeGrowth)}; limit ${GROWTH_LIMIT * 100} %) ${ok ? 'PASS' : 'MISS'}`);
}
console.log(`faults ${faults}; mean throughput ${(rows.reduce((a, r) => a + r.throughput, 0) / Math.max(1, rows.length)).toFixed(1)} done/s; wrote ${path.join(out, 'soak.csv')} and ${path.join(out, 'soak.svg')}`);
process.exit(grew ? 1 : 0);
