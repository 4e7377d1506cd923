// npm run bench (history): how the service copes with a long history and many apps. Two data sets are
// seeded straight into SQLite, on a schema made by the service's own migrations (one start of the built
// service): BENCH_HISTORY_APPS apps (1 000) × BENCH_HISTORY_RUNS runs (1 M), and BENCH_MANY_APPS apps
// (10 000) × BENCH_MANY_RUNS runs (100 k). For each, the service is started on it and measured from outside:
// boot, the pages and API a person or a probe calls, what a slow request does to the next one, the worst
// stall of the event loop (a tiny request every 10 ms), the HTML size and RSS of concurrent dashboard
// loads. Figures only, medians of 5 unless said.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pageSession, PASSWORD, rssOf, sleep, startOrchestrator } from './lib.mjs';

const Database = createRequire(import.meta.url)('better-sqlite3');
const auth = { Authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString('base64')}` };
const DAY = 86_400_000;

const LOG = [
  'capabilities: contract v1, type sqlite',
  'export started: 52428800 bytes announced, checksum announced; uploading as {name}',
  'stored 52428800 bytes as backups/{app}/{name}, sha256 5f2b0c1d9e8a7f6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b',
  'retention: keeping the 7 newest, 1 to delete',
  'retention: deleted {app}-20260101T030000Z.db',
].map((line, i) => `2026-11-28T03:00:0${i}.000Z ${line}`).join('\n');

/** Apps and runs as the service writes them: most runs succeeded backups, some failures, a few restores and verifications. */
function seed(databasePath, apps, runsTotal) {
  const db = new Database(databasePath);
  db.pragma('journal_mode = WAL');
  const now = Date.now();
  const insertApp = db.prepare(`INSERT INTO apps (name, url, tokenEncrypted, schedule, driveFolderId, retention, enabled, createdAt, updatedAt)
    VALUES (?, ?, 'x', ?, ?, 7, 1, ?, ?)`);
  const insertRun = db.prepare(`INSERT INTO runs (appId, appName, kind, "trigger", status, queuedAt, startedAt, finishedAt, bytes, sha256, remotePath, backupName, error, log)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const sqliteDate = (ms) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
  db.transaction(() => {
    const created = sqliteDate(now - 800 * DAY);
    for (let i = 1; i <= apps; i++) insertApp.run(`app-${i}`, `http://app-${i}:8000`, `${i % 60} ${i % 24} * * *`, `app-${i}`, created, created);
  })();
  // Steady state under the default pruning: every run within RUN_HISTORY_DAYS (400), logs only on the runs
  // of the last RUN_LOG_DAYS (90). (A first start on an unpruned history prunes it in the background first.)
  const perApp = Math.ceil(runsTotal / apps);
  const spacing = Math.floor((395 * DAY) / perApp);
  const BATCH = 50_000;
  for (let start = 0; start < runsTotal; start += BATCH) {
    db.transaction(() => {
      for (let n = start; n < Math.min(start + BATCH, runsTotal); n++) {
        // Interleaved by time, as real history is: run k of every app, then run k+1 of every app.
        const appId = (n % apps) + 1;
        const at = now - 395 * DAY + Math.floor(n / apps) * spacing;
        const kind = n % 50 === 0 ? 'verify' : n % 97 === 0 ? 'restore' : 'backup';
        const failed = n % 13 === 0;
        const name = `app-${appId}-${new Date(at).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z')}.db`;
        insertRun.run(appId, `app-${appId}`, kind, n % 20 === 0 ? 'manual' : 'schedule', failed ? 'failed' : 'succeeded',
          sqliteDate(at), sqliteDate(at + 100), sqliteDate(at + 9000), 52428800, failed ? null : '5f2b'.repeat(16),
          failed ? null : `backups/app-${appId}/${name}`, failed ? null : name, failed ? 'export: app answered 500: database is locked' : null,
          now - at < 90 * DAY ? LOG.replaceAll('{name}', name).replaceAll('{app}', `app-${appId}`) : '');
      }
    })();
  }
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}

async function timed(base, path) {
  const started = process.hrtime.bigint();
  const response = await fetch(`${base}${path}`, { headers: auth });
  const body = await response.arrayBuffer();
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, bytes: body.byteLength, status: response.status };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function medianOf(base, path, rounds = 5) {
  const results = [];
  for (let i = 0; i < rounds; i++) results.push(await timed(base, path));
  return { ms: median(results.map((r) => r.ms)), bytes: results[0].bytes, status: results[0].status };
}

/** A tiny request every 10 ms while `work` runs: the worst answer time is the worst event-loop stall. */
async function worstStall(base, work) {
  let worst = 0;
  let running = true;
  const probing = (async () => {
    while (running) {
      const started = process.hrtime.bigint();
      await fetch(`${base}/assets/app.css`, { headers: auth }).then((r) => r.arrayBuffer(), () => null);
      worst = Math.max(worst, Number(process.hrtime.bigint() - started) / 1e6);
      await sleep(10);
    }
  })();
  await work();
  running = false;
  await probing;
  return worst;
}

async function measure(label, apps, runs) {
  const dataDir = mkdtempSync(join(tmpdir(), 'orquestador-history-'));
  try {
    const schema = await startOrchestrator(dataDir);
    schema.child.kill('SIGTERM');
    await new Promise((resolve) => schema.child.once('close', resolve));
    const seeding = Date.now();
    seed(join(dataDir, 'orquestador.sqlite'), apps, runs);
    const sizeMb = statSync(join(dataDir, 'orquestador.sqlite')).size / 1e6;
    console.log(`\n${label}: ${apps} apps × ${runs} runs (seeded in ${((Date.now() - seeding) / 1000).toFixed(0)} s), SQLite file ${sizeMb.toFixed(0)} MB`);

    const service = await startOrchestrator(dataDir);
    const base = service.base;
    try {
      auth.Cookie = await pageSession(base); // the pages take a session; the API keeps basic auth
      // Every job registered: the scheduler's count in the detailed health answer reaches the number of apps.
      const booted = Date.now();
      let jobs = 0;
      const registering = await worstStall(base, async () => {
        while (Date.now() - booted < 120_000) {
          const health = await fetch(`${base}/api/health`, { headers: auth }).then((r) => r.json(), () => ({}));
          jobs = health.checks?.scheduler?.jobs ?? 0;
          if (jobs >= apps) break;
          await sleep(500); // health is itself a pass over every app: asked often, it would be the stall measured
        }
      });
      console.log(`  boot: listening ${service.bootSeconds.toFixed(2)} s; ${jobs} jobs registered ${(service.bootSeconds + (Date.now() - booted) / 1000).toFixed(2)} s; worst stall meanwhile ${registering.toFixed(0)} ms`);

      const rows = [];
      for (const [what, path] of [['GET /api/apps', '/api/apps'], ['dashboard /', '/'], ['app page /apps/1', '/apps/1'],
        ['GET /api/apps/1/runs', '/api/apps/1/runs'], ['GET /api/health', '/api/health'], ['GET /metrics', '/metrics']]) {
        const result = await medianOf(base, path);
        rows.push(`  ${what.padEnd(24)} ${result.ms.toFixed(0).padStart(6)} ms  ${(result.bytes / 1e6).toFixed(2)} MB  (${result.status})`);
      }
      console.log(rows.join('\n'));

      // A slow request freezes the event loop: a small one sent 10 ms later waits for it.
      const blocked = [];
      for (let i = 0; i < 5; i++) {
        const health = fetch(`${base}/api/health`, { headers: auth }).then((r) => r.arrayBuffer());
        await sleep(10);
        blocked.push((await timed(base, '/assets/app.css')).ms);
        await health;
      }
      console.log(`  a 2 ms request sent 10 ms after a health request: ${median(blocked).toFixed(0)} ms`);

      const idle = rssOf(service.child.pid);
      let peak = idle;
      const sampler = setInterval(() => (peak = Math.max(peak, rssOf(service.child.pid))), 20);
      const stall = await worstStall(base, () => Promise.all([1, 2, 3, 4].map(() => timed(base, '/'))));
      clearInterval(sampler);
      console.log(`  4 dashboard loads at once: peak RSS ${(peak / 1e6).toFixed(0)} MB (idle ${(idle / 1e6).toFixed(0)} MB); worst stall ${stall.toFixed(0)} ms`);
    } finally {
      service.child.kill('SIGTERM');
      await new Promise((resolve) => service.child.once('close', resolve));
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await measure('long history', Number(process.env.BENCH_HISTORY_APPS ?? 1000), Number(process.env.BENCH_HISTORY_RUNS ?? 1_000_000));
await measure('many apps', Number(process.env.BENCH_MANY_APPS ?? 10_000), Number(process.env.BENCH_MANY_RUNS ?? 100_000));
