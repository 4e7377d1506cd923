// npm run bench (2/2): with 1000 registered apps, how long the service takes to boot (every cron job
// registered) and to answer GET /api/apps. Figures only.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOrchestrator } from './lib.mjs';

const APPS = Number(process.env.BENCH_APPS ?? 1000);
const dataDir = mkdtempSync(join(tmpdir(), 'orquestador-scale-'));
try {
  const first = await startOrchestrator(dataDir);
  for (let i = 0; i < APPS; i++) {
    await first.api('POST', '/api/apps', {
      name: `app-${i}`, url: `http://app-${i}:8000`, token: `token-${i}`, schedule: `${i % 60} ${i % 24} * * *`,
      driveFolderId: `app-${i}`, retention: 7,
    });
  }
  first.child.kill('SIGTERM');
  await new Promise((resolve) => first.child.once('close', resolve));

  const second = await startOrchestrator(dataDir);
  const timings = [];
  let count = 0;
  for (let i = 0; i < 5; i++) {
    const started = process.hrtime.bigint();
    count = (await second.api('GET', '/api/apps')).length;
    timings.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  second.child.kill('SIGTERM');
  console.log(`registered apps:             ${count}`);
  console.log(`boot with ${APPS} jobs:          ${second.bootSeconds.toFixed(2)} s  (target well under 10 s)`);
  console.log(`GET /api/apps:               ${Math.min(...timings).toFixed(0)} ms best, ${Math.max(...timings).toFixed(0)} ms worst of 5  (target well under 1 s)`);
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
