// npm run bench (3/3): the fixed cost of a run. Backs up a 64 KiB export (retention 3, so every run
// also deletes one) ROUNDS times and prints the median run, from the API call to `succeeded` as the run
// record gives it, and the median GET /api/health with its checks (Docker's HEALTHCHECK polls it).
// BENCH_BEFORE=<another checkout, built> measures that build too, run for run alternating with this one
// on the same machine at the same time, so that the machine's load weighs on both alike. Figures only.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { sleep, startOrchestrator } from './lib.mjs';

const SIZE = 64 * 1024;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 30);
const TOKEN = 'bench-token';

async function startContractProcess() {
  const child = spawn(process.execPath, ['--input-type=module', '-e', `
    import { startContractApp } from ${JSON.stringify(new URL('../test/support/contract-app.mjs', import.meta.url).href)};
    const app = await startContractApp({ token: ${JSON.stringify(TOKEN)} });
    app.setMode({ size: ${SIZE}, length: true, checksum: true, extension: 'db' });
    console.log(app.url);
  `], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [url] = await once(child.stdout, 'data');
  return { url: url.toString().trim(), stop: () => child.kill() };
}

/** Milliseconds from the API call to the run's end. Runs of one app start a second apart at most (names are per second). */
async function oneRun({ api }, appId) {
  const called = Date.now();
  const { runId } = await api('POST', `/api/apps/${appId}/run`);
  let run;
  do {
    await sleep(20); // the end time comes from the run record: polling costs no precision
    run = await api('GET', `/api/runs/${runId}`);
  } while (run.status === 'queued' || run.status === 'running');
  if (run.status !== 'succeeded') throw new Error(`run failed: ${run.error}`);
  return Date.parse(run.finishedAt) - called;
}

async function healthMs({ api }) {
  const started = process.hrtime.bigint();
  const health = await api('GET', '/api/health');
  if (health.checks.rclone.status !== 'ok') throw new Error(`rclone check failed: ${health.checks.rclone.error}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

const builds = [{ label: 'this build', cwd: process.cwd() }];
if (process.env.BENCH_BEFORE) builds.unshift({ label: `BENCH_BEFORE (${process.env.BENCH_BEFORE})`, cwd: resolve(process.env.BENCH_BEFORE) });
for (const { cwd } of builds) if (!existsSync(join(cwd, 'dist/main.js'))) throw new Error(`${cwd}: not built (npx nest build)`);

const contract = await startContractProcess();
const scratch = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
for (const build of builds) {
  build.dataDir = mkdtempSync(join(scratch, 'orquestador-small-'));
  build.service = await startOrchestrator(build.dataDir, {}, { cwd: build.cwd });
  build.app = await build.service.api('POST', '/api/apps', {
    name: 'small', url: contract.url, token: TOKEN, schedule: '0 3 * * *', driveFolderId: 'small', retention: 3,
  });
  build.runs = [];
  build.health = [];
}
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const build of builds) {
      build.runs.push(await oneRun(build.service, build.app.id));
      build.health.push(await healthMs(build.service));
    }
    await sleep(1000); // the next run of the app gets a name of its own without waiting inside the service
  }
  const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)];
  const spread = (list) => `${Math.min(...list).toFixed(0)}–${Math.max(...list).toFixed(0)}`;
  console.log(`${ROUNDS} runs of a ${SIZE / 1024} KiB backup into a local folder on ${scratch}, retention 3`);
  for (const { label, runs, health } of builds) {
    console.log(`${label}:\n  run, API call to succeeded: ${median(runs).toFixed(0).padStart(4)} ms median (${spread(runs)})` +
      `\n  GET /api/health with checks: ${median(health).toFixed(0).padStart(4)} ms median (${spread(health)})`);
  }
} finally {
  for (const build of builds) {
    build.service?.child.kill('SIGTERM');
    if (build.service) await once(build.service.child, 'close');
    rmSync(build.dataDir, { recursive: true, force: true });
  }
  contract.stop();
}
