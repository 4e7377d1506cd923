// Shared by the benchmarks: start the built service on a free port and talk to its API.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** `npm run start:prod`'s node arguments: the benchmarks measure the service as it is deployed. */
const serviceArgs = JSON.parse(readFileSync('package.json', 'utf8')).scripts['start:prod'].split(' ').slice(1);

/**
 * Starts dist/main.js (of the checkout `cwd`, this one by default); bootSeconds runs from spawn to the
 * first healthy answer (jobs are registered by then).
 */
export async function startOrchestrator(dataDir, { cwd } = {}) {
  const port = await freePort();
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, serviceArgs, {
    env: { ...process.env, DATA_DIR: dataDir, PORT: String(port), ADMIN_PASSWORD: PASSWORD, LOG_LEVEL: 'warn' },
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

