// npm run bench (firings): many small apps on a tight schedule. BENCH_FIRING_APPS apps (50), each firing
// every 5 s with a 64 KiB export, with MAX_CONCURRENT_BACKUPS=2, for BENCH_FIRING_SECONDS (60): how many
// firings ran, were served by an already queued run, or were skipped, and the event loop's lag meanwhile
// (prom-client's nodejs_eventloop_lag_p99_seconds, which restarts at each scrape). Figures only.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TOKEN, sleep, startContractProcess, startOrchestrator } from './lib.mjs';

const APPS = Number(process.env.BENCH_FIRING_APPS ?? 50);
const SECONDS = Number(process.env.BENCH_FIRING_SECONDS ?? 60);
const dataDir = mkdtempSync(join(tmpdir(), 'orquestador-firings-'));
const contract = await startContractProcess(64 * 1024);
const service = await startOrchestrator(dataDir, { MAX_CONCURRENT_BACKUPS: '2' });
/** One scrape (each restarts the lag histogram): the named metrics' values. */
const scrape = async (...names) => {
  const text = await fetch(`${service.base}/metrics`, { headers: { Authorization: `Basic ${Buffer.from('admin:bench-password').toString('base64')}` } }).then((r) => r.text());
  return names.map((name) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)[1]));
};
/** Every run with this status, page after page (keyset on id). */
const runsWith = async (status) => {
  const all = [];
  for (let page = await service.api('GET', `/api/runs?status=${status}&limit=500`); page.length > 0;
    page = await service.api('GET', `/api/runs?status=${status}&limit=500&before=${page.at(-1).id}`)) all.push(...page);
  return all;
};
try {
  const apps = [];
  for (let i = 0; i < APPS; i++) {
    apps.push(await service.api('POST', '/api/apps', {
      name: `tick-${i}`, url: contract.url, token: TOKEN, schedule: '*/5 * * * * *', driveFolderId: `tick-${i}`, retention: 3,
    }));
  }
  await scrape('nodejs_eventloop_lag_p99_seconds');
  await sleep(SECONDS * 1000);
  const [lagP99, lagMax] = await scrape('nodejs_eventloop_lag_p99_seconds', 'nodejs_eventloop_lag_max_seconds');
  for (const app of apps) await service.api('PATCH', `/api/apps/${app.id}`, { enabled: false });
  await sleep(3000); // the runs already queued end
  const succeeded = await runsWith('succeeded');
  const [skipped, failed] = [(await runsWith('skipped')).length, (await runsWith('failed')).length];
  const served = succeeded.reduce((sum, run) => sum + run.log.filter((line) => line.includes('this run serves it')).length, 0);
  console.log(`${APPS} apps firing every 5 s for ${SECONDS} s, 2 slots: ${APPS * (SECONDS / 5)} firings expected`);
  console.log(`  runs succeeded ${succeeded.length}, firings served by a queued run ${served}, skipped ${skipped}, failed ${failed}`);
  console.log(`  event loop lag meanwhile: p99 ${(lagP99 * 1000).toFixed(1)} ms (target < 50), max ${(lagMax * 1000).toFixed(1)} ms`);
} finally {
  service.child.kill('SIGTERM');
  contract.stop();
  await new Promise((resolve) => service.child.once('close', resolve));
  rmSync(dataDir, { recursive: true, force: true });
}
