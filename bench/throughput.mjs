// npm run bench (1/2): streams a 1 GiB export through the built orchestrator into a local-folder remote and,
// in the same run, through the bare pipeline `curl … /backup/export | rclone rcat --size N …`.
// Prints both throughputs, their ratio and the orchestrator's peak RSS growth. Not a test: figures only.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256Of, startContractApp } from '../test/support/contract-app.mjs';
import { rssOf, sleep, startOrchestrator } from './lib.mjs';

const SIZE = Number(process.env.BENCH_SIZE ?? 1024 ** 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const TOKEN = 'bench-token';
const MiB = 1024 * 1024;

async function throughOrchestrator(orchestrator, appId) {
  const { child, api } = orchestrator;
  const baseline = rssOf(child.pid);
  let peak = baseline;
  const started = process.hrtime.bigint();
  const { runId } = await api('POST', `/api/apps/${appId}/run`);
  let run;
  do {
    await sleep(20);
    peak = Math.max(peak, rssOf(child.pid));
    run = await api('GET', `/api/runs/${runId}`);
  } while (run.status === 'queued' || run.status === 'running');
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (run.status !== 'succeeded' || run.bytes !== SIZE) throw new Error(`orchestrator run did not succeed: ${JSON.stringify(run.error)}`);
  return { seconds, rssGrowth: peak - baseline };
}

/** Asynchronous on purpose: the contract app serving curl lives in this process's event loop. */
async function bare(url, destination) {
  const started = process.hrtime.bigint();
  const shell = spawn('bash', ['-o', 'pipefail', '-c',
    `curl -sf -X POST -H 'Authorization: Bearer ${TOKEN}' -H 'Content-Type: application/json' -d '{"version":"v1"}' ` +
    `${url}/backup/export | rclone rcat --size ${SIZE} ${destination}`], { stdio: 'inherit' });
  const code = await new Promise((resolve) => shell.once('close', resolve));
  if (code !== 0) throw new Error(`bare pipeline failed with exit ${code}`);
  return { seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

const contract = await startContractApp({ token: TOKEN });
// 1 MiB writes, as a dump tool streaming a file would do.
contract.setMode({ size: SIZE, length: true, checksum: true, extension: 'db', chunkSize: 1024 * 1024 });
sha256Of(SIZE); // computed once, outside the timings
// tmpfs when there is one: otherwise the disk's write-back, not the pipelines, decides the figures.
const scratch = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
const dataDir = mkdtempSync(join(scratch, 'orquestador-bench-'));
const orchestrator = await startOrchestrator(dataDir);
try {
  const app = await orchestrator.api('POST', '/api/apps', {
    name: 'bench', url: contract.url, token: TOKEN, schedule: '0 3 * * *', driveFolderId: 'bench', retention: 1,
  });
  const results = { orchestrator: [], bare: [], rss: [] };
  for (let round = 0; round < ROUNDS; round++) {
    const bareRun = await bare(contract.url, join(dataDir, 'bare', `bare-${round}.db`));
    rmSync(join(dataDir, 'bare'), { recursive: true, force: true });
    results.bare.push(SIZE / MiB / bareRun.seconds);
    const run = await throughOrchestrator(orchestrator, app.id);
    results.orchestrator.push(SIZE / MiB / run.seconds);
    results.rss.push(run.rssGrowth / MiB);
  }
  const best = (values) => Math.max(...values);
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const ratio = best(results.orchestrator) / best(results.bare);
  console.log(`export size:                 ${(SIZE / MiB).toFixed(0)} MiB into ${scratch}, ${ROUNDS} rounds (best of each)`);
  console.log(`bare curl | rclone rcat:     ${best(results.bare).toFixed(0)} MiB/s  (${results.bare.map((v) => v.toFixed(0)).join(', ')})`);
  console.log(`app-orquestador:             ${best(results.orchestrator).toFixed(0)} MiB/s  (${results.orchestrator.map((v) => v.toFixed(0)).join(', ')})`);
  console.log(`ratio orchestrator / bare:   ${ratio.toFixed(2)} best, ${(median(results.orchestrator) / median(results.bare)).toFixed(2)} median  (target >= 0.90)`);
  console.log(`peak RSS growth during run:  ${Math.max(...results.rss).toFixed(1)} MB  (target < 100 MB)`);
  console.log(`rclone:                      ${execFileSync('rclone', ['version']).toString().split('\n')[0]}`);
} finally {
  orchestrator.child.kill('SIGTERM');
  await contract.close();
  rmSync(dataDir, { recursive: true, force: true });
}
