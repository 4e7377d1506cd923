// Shared by the benchmarks: start the built service on a free port and talk to its API.
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';

export const PASSWORD = 'bench-password';

export const freePort = () =>
  new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

export const rssOf = (pid) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;
/** CPU seconds a process used, its threads and its waited-for children included (/proc/PID/stat utime…cstime). */
export const cpuSecondsOf = (pid) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields.slice(11, 15).reduce((sum, ticks) => sum + Number(ticks), 0) / 100; // fields 14-17, USER_HZ = 100
};
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** `npm run start:prod`'s node arguments: the benchmarks measure the service as it is deployed. */
const serviceArgs = JSON.parse(readFileSync('package.json', 'utf8')).scripts['start:prod'].split(' ').slice(1);

/**
 * Starts dist/main.js (of the checkout `cwd`, this one by default) with `env` on top of the bench's own;
 * bootSeconds runs from spawn to the first healthy answer.
 */
export async function startOrchestrator(dataDir, env = {}, { cwd } = {}) {
  const port = await freePort();
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, serviceArgs, {
    env: { ...process.env, DATA_DIR: dataDir, PORT: String(port), ADMIN_PASSWORD: PASSWORD, LOG_LEVEL: 'warn', ...env },
    stdio: 'ignore',
    cwd,
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 1000; i++) {
    if (await fetch(`${base}/api/health`).then((r) => r.ok, () => false)) break;
    await sleep(20);
  }
  const bootSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const auth = { Authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}`, 'Content-Type': 'application/json' };
  const api = async (method, path, body) => {
    const response = await fetch(`${base}${path}`, { method, headers: auth, body: body && JSON.stringify(body) });
    return response.json();
  };
  return { child, api, base, bootSeconds };
}

/** The pages take a session, not basic auth: logs in through the login page and returns the Cookie header to send. */
export async function pageSession(base, user = 'admin', password = PASSWORD) {
  const cookiesOf = (response) => response.headers.getSetCookie().map((cookie) => cookie.split(';')[0]);
  const form = await fetch(`${base}/login`);
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())[1];
  const login = await fetch(`${base}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: cookiesOf(form).join('; ') },
    body: new URLSearchParams({ _csrf: csrf, username: user, password, next: '/' }),
  });
  if (login.status !== 303) throw new Error(`login failed: HTTP ${login.status}`);
  return [...cookiesOf(form), ...cookiesOf(login)].join('; ');
}


export const TOKEN = 'bench-token';

export const hasOpenssl = (() => {
  try {
    return Boolean(execFileSync('openssl', ['version']));
  } catch {
    return false;
  }
})();

/** The contract test app in a process of its own, as a real app would be, writing 1 MiB at a time like a dump tool. */
export async function startContractProcess(size) {
  const child = spawn(process.execPath, ['--input-type=module', '-e', `
    import { sha256Of, startContractApp } from ${JSON.stringify(new URL('../test/support/contract-app.mjs', import.meta.url).href)};
    const app = await startContractApp({ token: ${JSON.stringify(TOKEN)} });
    app.setMode({ size: ${size}, length: true, checksum: true, extension: 'db', chunkSize: 1024 * 1024 });
    sha256Of(${size}); // computed once, outside the timings
    console.log(app.url);
  `], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [url] = await once(child.stdout, 'data');
  return { url: url.toString().trim(), stop: () => child.kill() };
}

/**
 * The reference: `curl … /backup/export | rclone rcat --size N`, with SHA-256 computed beside it
 * (`tee >(openssl dgst -sha256)`) when `hashed`, the work the service must do on top. Resolves with seconds.
 */
export async function barePipeline(url, size, destination, { hashed }) {
  const curl = `curl -sf -X POST -H 'Authorization: Bearer ${TOKEN}' -H 'Content-Type: application/json' -d '{"version":"v1"}' ${url}/backup/export`;
  const tee = hashed ? ' | tee >(openssl dgst -sha256 >/dev/null)' : '';
  const started = process.hrtime.bigint();
  const shell = spawn('bash', ['-o', 'pipefail', '-c', `${curl}${tee} | rclone rcat -q --size ${size} "${destination}"`], { stdio: 'inherit' });
  const code = await new Promise((resolve) => shell.once('close', resolve));
  if (code !== 0) throw new Error(`bare pipeline failed with exit ${code}`);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/** Seconds from the API call to the run's end, and from its export start to its "stored" line. */
export async function timedRun(orchestrator, appId, size) {
  const { child, api } = orchestrator;
  const baseline = rssOf(child.pid);
  let peak = baseline;
  const called = Date.now();
  const { runId } = await api('POST', `/api/apps/${appId}/run`);
  // The times come from the run record, so asking for it slowly costs no precision, while every answer costs the
  // service CPU beside the transfer (0.2 s of its main thread per 512 MiB run when asked every 50 ms, measured on
  // 2 cores): the run is read every 500 ms (the live page asks every second), its RSS still sampled every 50 ms.
  let run;
  for (let tick = 1; !run || run.status === 'queued' || run.status === 'running'; tick++) {
    await sleep(50);
    peak = Math.max(peak, rssOf(child.pid));
    if (tick % 10 === 0) run = await api('GET', `/api/runs/${runId}`);
  }
  if (run.status !== 'succeeded' || run.bytes !== size) throw new Error(`orchestrator run did not succeed: ${JSON.stringify(run.error)}`);
  // Removed outside the timings, as the bare pipelines' files are, so that every pipeline writes into the
  // memory the previous one freed: on this VM, tmpfs pages that were not just freed are up to 50 % slower.
  // Every destination's copy (issue #14); a run from before destinations has its one remotePath.
  for (const copy of run.destinations?.length ? run.destinations : [run]) rmSync(copy.remotePath);
  // The transfer ends with the last copy stored.
  const at = (line) => Date.parse(run.log.findLast((entry) => entry.includes(` ${line}`)).split(' ')[0]);
  return {
    whole: (Date.parse(run.finishedAt) - called) / 1000,
    transfer: (at('stored ') - at('export started')) / 1000,
    rssGrowth: peak - baseline,
  };
}

/** Prints rates (MiB/s, median and best over the rounds) and ratios of two lists of seconds for `size` bytes. */
export function rateReport(size) {
  const rates = (list) => list.map((s) => size / 1024 / 1024 / s).sort((a, b) => a - b);
  const median = (list) => rates(list)[Math.floor(list.length / 2)];
  const best = (list) => rates(list).at(-1);
  return {
    line: (label, list) =>
      console.log(`${label.padEnd(44)} ${median(list).toFixed(0).padStart(4)} MiB/s median, ${best(list).toFixed(0).padStart(4)} best  ` +
        `(${rates(list).map((v) => v.toFixed(0)).join(', ')})`),
    ratio: (label, service, reference) =>
      console.log(`${label.padEnd(44)} ${(median(service) / median(reference)).toFixed(2)} median, ${(best(service) / best(reference)).toFixed(2)} best`),
  };
}
