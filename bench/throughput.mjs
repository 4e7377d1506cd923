// npm run bench (1/2): streams a 1 GiB export, in every round, through
//   - the bare pipeline `curl … /backup/export | rclone rcat --size N …` (the reference of issue #3),
//   - the same pipeline with SHA-256 computed beside it (`tee >(openssl dgst -sha256)`): the work the
//     service must do on top, since it checks every byte against X-Backup-Sha256,
//   - the built service, into a local-folder remote: the whole run (API call to `succeeded`, including
//     capabilities, listing, rename, verification and retention's listing) and the transfer alone (export
//     start to the verified final file, from the run's log).
// The contract test app runs in a process of its own and serves all three.
// Prints medians and bests, ratios and the service's peak RSS growth. Not a test: figures only.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TOKEN, barePipeline, hasOpenssl, rssOf, sleep, startContractProcess, startOrchestrator } from './lib.mjs';

const SIZE = Number(process.env.BENCH_SIZE ?? 1024 ** 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const MiB = 1024 * 1024;

/** Seconds from the API call to the run's end, and from its export start to its "stored" line. */
async function throughOrchestrator(orchestrator, appId) {
  const { child, api } = orchestrator;
  const baseline = rssOf(child.pid);
  let peak = baseline;
  const called = Date.now();
  const { runId } = await api('POST', `/api/apps/${appId}/run`);
  let run;
  do {
    await sleep(50); // the end time comes from the run record, so polling slowly costs no precision
    peak = Math.max(peak, rssOf(child.pid));
    run = await api('GET', `/api/runs/${runId}`);
  } while (run.status === 'queued' || run.status === 'running');
  if (run.status !== 'succeeded' || run.bytes !== SIZE) throw new Error(`orchestrator run did not succeed: ${JSON.stringify(run.error)}`);
  // Removed outside the timings, as the bare pipelines' files are, so that every pipeline writes into the
  // memory the previous one freed: on this VM, tmpfs pages that were not just freed are up to 50 % slower.
  rmSync(run.remotePath);
  const at = (line) => Date.parse(run.log.find((entry) => entry.includes(` ${line}`)).split(' ')[0]);
  return {
    whole: (Date.parse(run.finishedAt) - called) / 1000,
    transfer: (at('stored ') - at('export started')) / 1000,
    rssGrowth: peak - baseline,
  };
}

const contract = await startContractProcess(SIZE);
// tmpfs when there is one: otherwise the disk's write-back, not the pipelines, decides the figures.
const scratch = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
const dataDir = mkdtempSync(join(scratch, 'orquestador-bench-'));
const orchestrator = await startOrchestrator(dataDir);
try {
  const app = await orchestrator.api('POST', '/api/apps', {
    name: 'bench', url: contract.url, token: TOKEN, schedule: '0 3 * * *', driveFolderId: 'bench', retention: 1,
  });
  const seconds = { bare: [], hashed: [], whole: [], transfer: [] };
  let rss = 0;
  for (let round = 0; round < ROUNDS; round++) {
    for (const hashed of hasOpenssl ? [false, true] : [false]) {
      seconds[hashed ? 'hashed' : 'bare'].push(await barePipeline(contract.url, SIZE, join(dataDir, 'bare', 'bare.db'), { hashed }));
      rmSync(join(dataDir, 'bare'), { recursive: true, force: true });
    }
    const run = await throughOrchestrator(orchestrator, app.id);
    seconds.whole.push(run.whole);
    seconds.transfer.push(run.transfer);
    rss = Math.max(rss, run.rssGrowth);
  }
  const rates = (list) => list.map((s) => SIZE / MiB / s).sort((a, b) => a - b);
  const median = (list) => rates(list)[Math.floor(list.length / 2)];
  const best = (list) => rates(list).at(-1);
  const line = (label, list) =>
    console.log(`${label.padEnd(44)} ${median(list).toFixed(0).padStart(4)} MiB/s median, ${best(list).toFixed(0).padStart(4)} best  ` +
      `(${rates(list).map((v) => v.toFixed(0)).join(', ')})`);
  const ratio = (label, service, reference) =>
    console.log(`${label.padEnd(44)} ${(median(service) / median(reference)).toFixed(2)} median, ${(best(service) / best(reference)).toFixed(2)} best`);

  console.log(`export: ${SIZE / MiB} MiB into ${scratch}, ${ROUNDS} rounds; ${execFileSync('rclone', ['version']).toString().split('\n')[0]}`);
  line('bare curl | rclone rcat --size', seconds.bare);
  if (hasOpenssl) line('bare + SHA-256 (tee >(openssl dgst -sha256))', seconds.hashed);
  line('app-orquestador, transfer', seconds.transfer);
  line('app-orquestador, whole run', seconds.whole);
  ratio('ratio transfer / bare (target >= 0.90)', seconds.transfer, seconds.bare);
  ratio('ratio whole run / bare', seconds.whole, seconds.bare);
  if (hasOpenssl) ratio('ratio transfer / bare + SHA-256', seconds.transfer, seconds.hashed);
  console.log(`peak RSS growth during a run:                ${(rss / MiB).toFixed(1)} MB (target < 100 MB)`);
} finally {
  orchestrator.child.kill('SIGTERM');
  contract.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
