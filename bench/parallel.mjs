// npm run bench (parallel): do parallel backups use every core? For M = 1, 2, 4 (BENCH_PARALLEL), in every
// round, M exports of BENCH_PARALLEL_SIZE bytes (256 MiB) at once through
//   - M bare pipelines `curl … | rclone rcat --size N`,
//   - M of the same with SHA-256 beside them (`tee >(openssl dgst -sha256)`), the work the service does,
//   - the built service with MAX_CONCURRENT_BACKUPS=M and M apps started at once, timed as the transfer
//     (first "export started" to last "stored" in the runs' logs) and as the whole runs (API calls to the
//     last `succeeded`), with its peak RSS above what it held just before the round.
// Total MiB/s, medians of BENCH_ROUNDS (3) rounds, and the ratio service / (bare + SHA-256); and the CPU
// seconds each pipeline spent per GiB (the app's excluded), which a busy machine disturbs far less than
// the rates. Figures only.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TOKEN, barePipeline, cpuSecondsOf, hasOpenssl, rssOf, sleep, startContractProcess, startOrchestrator } from './lib.mjs';

const MiB = 1024 * 1024;
const SIZE = Number(process.env.BENCH_PARALLEL_SIZE ?? 256 * MiB);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const LEVELS = (process.env.BENCH_PARALLEL ?? '1,2,4').split(',').map(Number);
/** BENCH_BUILD=<another built checkout>: measure that build's service instead (before/after figures). */
const BUILD = process.env.BENCH_BUILD;

/** M pipelines at once; seconds from the first start to the last end, and their CPU seconds. */
async function bareRound(url, dataDir, m, hashed) {
  const cpu = cpuSecondsOf(process.pid);
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: m }, (_, i) => barePipeline(url, SIZE, join(dataDir, 'bare', `bare-${i}.db`), { hashed })));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  // Removed outside the timings, as the service's files are: tmpfs pages just freed are the fastest to write.
  rmSync(join(dataDir, 'bare'), { recursive: true, force: true });
  return { seconds, cpu: cpuSecondsOf(process.pid) - cpu };
}

/** M runs started at once; the transfer and whole spans, and the peak RSS above the service's idle. */
async function serviceRound({ child, api }, apps) {
  const idle = rssOf(child.pid);
  const cpu = cpuSecondsOf(child.pid);
  let peak = idle;
  const sampler = setInterval(() => (peak = Math.max(peak, rssOf(child.pid))), 20);
  const called = Date.now();
  const ids = await Promise.all(apps.map(async (app) => (await api('POST', `/api/apps/${app.id}/run`)).runId));
  const runs = [];
  for (const id of ids) {
    let run;
    while ((run = await api('GET', `/api/runs/${id}`)).status === 'queued' || run.status === 'running') await sleep(50);
    if (run.status !== 'succeeded' || run.bytes !== SIZE) throw new Error(`run ${id} did not succeed: ${JSON.stringify(run.error)}`);
    runs.push(run);
  }
  clearInterval(sampler);
  const cpuUsed = cpuSecondsOf(child.pid) - cpu;
  for (const run of runs) rmSync(run.remotePath);
  const at = (run, line) => Date.parse(run.log.find((entry) => entry.includes(` ${line}`)).split(' ')[0]);
  return {
    transfer: (Math.max(...runs.map((run) => at(run, 'stored '))) - Math.min(...runs.map((run) => at(run, 'export started')))) / 1000,
    whole: (Math.max(...runs.map((run) => Date.parse(run.finishedAt))) - called) / 1000,
    rssGrowth: peak - idle,
    cpu: cpuUsed,
  };
}

const contract = await startContractProcess(SIZE);
// tmpfs when there is one: otherwise the disk's write-back, not the pipelines, decides the figures.
const scratch = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
const results = [];
try {
  for (const m of LEVELS) {
    const dataDir = mkdtempSync(join(scratch, 'orquestador-parallel-'));
    const orchestrator = await startOrchestrator(dataDir, { MAX_CONCURRENT_BACKUPS: String(m) }, { cwd: BUILD });
    try {
      const apps = [];
      for (let i = 0; i < m; i++) {
        apps.push(await orchestrator.api('POST', '/api/apps', {
          name: `bench-${i}`, url: contract.url, token: TOKEN, schedule: '0 3 * * *', driveFolderId: `bench-${i}`, retention: 1,
        }));
      }
      const seconds = { bare: [], hashed: [], transfer: [], whole: [] };
      const cpu = { bare: [], hashed: [], service: [] };
      let rss = 0;
      for (let round = 0; round < ROUNDS; round++) {
        for (const hashed of hasOpenssl ? [false, true] : [false]) {
          const bare = await bareRound(contract.url, dataDir, m, hashed);
          seconds[hashed ? 'hashed' : 'bare'].push(bare.seconds);
          cpu[hashed ? 'hashed' : 'bare'].push(bare.cpu);
        }
        const service = await serviceRound(orchestrator, apps);
        seconds.transfer.push(service.transfer);
        seconds.whole.push(service.whole);
        cpu.service.push(service.cpu);
        rss = Math.max(rss, service.rssGrowth);
      }
      results.push({ m, seconds, cpu, rss });
    } finally {
      orchestrator.child.kill('SIGTERM');
      await new Promise((resolve) => orchestrator.child.once('close', resolve));
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
} finally {
  contract.stop();
}

const rates = (m, list) => list.map((s) => (m * SIZE) / MiB / s).sort((a, b) => a - b);
const median = (m, list) => rates(m, list)[Math.floor(list.length / 2)];
const cell = (m, list) => `${median(m, list).toFixed(0).padStart(5)} (${rates(m, list).map((v) => v.toFixed(0)).join(', ')})`;
console.log(`parallel exports of ${SIZE / MiB} MiB into ${scratch}, ${ROUNDS} rounds; total MiB/s, median (every round, sorted)`);
/** CPU seconds per GiB moved, median. */
const perGiB = (m, list) => {
  const sorted = list.map((s) => s / ((m * SIZE) / 1024 ** 3)).sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)].toFixed(2);
};
for (const { m, seconds, cpu, rss } of results) {
  console.log(`M = ${m}`);
  console.log(`  bare curl | rclone rcat --size            ${cell(m, seconds.bare)}`);
  if (hasOpenssl) console.log(`  bare + SHA-256                            ${cell(m, seconds.hashed)}`);
  console.log(`  app-orquestador, transfer                 ${cell(m, seconds.transfer)}`);
  console.log(`  app-orquestador, whole runs               ${cell(m, seconds.whole)}`);
  if (hasOpenssl) {
    const ratio = (list) => (median(m, list) / median(m, seconds.hashed)).toFixed(2);
    console.log(`  ratio transfer / bare + SHA-256           ${ratio(seconds.transfer)}  (target >= 0.90 for M >= 2)`);
    console.log(`  ratio whole runs / bare + SHA-256         ${ratio(seconds.whole)}`);
  }
  console.log(`  CPU-s per GiB: bare ${perGiB(m, cpu.bare)}${hasOpenssl ? `, bare + SHA-256 ${perGiB(m, cpu.hashed)}` : ''}, ` +
    `app-orquestador ${perGiB(m, cpu.service)} (whole runs, rclone included)`);
  console.log(`  peak RSS above idle                       ${(rss / MiB).toFixed(1)} MB, ${(rss / MiB / m).toFixed(1)} MB per backup (target < 100)`);
}
