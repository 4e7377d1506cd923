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
import { TOKEN, barePipeline, hasOpenssl, startContractProcess, startOrchestrator, rateReport, timedRun } from './lib.mjs';

const SIZE = Number(process.env.BENCH_SIZE ?? 1024 ** 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const MiB = 1024 * 1024;

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
    const run = await timedRun(orchestrator, app.id, SIZE);
    seconds.whole.push(run.whole);
    seconds.transfer.push(run.transfer);
    rss = Math.max(rss, run.rssGrowth);
  }
  const { line, ratio } = rateReport(SIZE);

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
