// npm run bench (cluster): cluster mode on a scratch PostgreSQL database (BENCH_POSTGRES_URL, else TEST_POSTGRES_URL,
// else postgres://postgres@127.0.0.1:5432/test, in which it creates and drops a database of its own).
// 1. BENCH_CLUSTER_REPLICAS (3) replicas, each with a data folder of its own, one SECRET_KEY and one backups folder;
//    BENCH_CLUSTER_APPS (1 000) apps with a small export (BENCH_CLUSTER_EXPORT_BYTES, 4 KiB), all scheduled for the
//    same instant (a 6-field cron pinned to one second): firing-to-queued and firing-to-started delays, p50 / p99,
//    from each firing's pg-boss job and each run's startedAt, and the runs lost (apps without a run for that firing) or duplicated.
// 2. The replicas stopped, the apps made BENCH_CLUSTER_BOOT_APPS (10 000) by rows written straight into PostgreSQL;
//    one more replica's boot (spawn to healthy, and to every cron job registered) and GET /api/apps.
// Figures only (targets: queued p99 < 2 s, 0 lost, 0 duplicated, boot < 10 s, GET /api/apps < 1 s).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { TOKEN, sleep, startContractProcess, startOrchestrator } from './lib.mjs';

const REPLICAS = Number(process.env.BENCH_CLUSTER_REPLICAS ?? 3);
const APPS = Number(process.env.BENCH_CLUSTER_APPS ?? 1000);
const BOOT_APPS = Number(process.env.BENCH_CLUSTER_BOOT_APPS ?? 10_000);
const EXPORT_BYTES = Number(process.env.BENCH_CLUSTER_EXPORT_BYTES ?? 4096);
/** How long the firing's runs may take to end before the figures are taken as they are. */
const WAIT_S = Number(process.env.BENCH_CLUSTER_WAIT_S ?? 600);
const SERVER = process.env.BENCH_POSTGRES_URL ?? process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const connect = async (url) => {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
};
const admin = await connect(SERVER);
const name = `orq_bench_${randomBytes(6).toString('hex')}`;
await admin.query(`CREATE DATABASE ${name}`);
const url = new URL(SERVER);
url.pathname = `/${name}`;
const folders = [];
const folder = (label) => {
  const path = mkdtempSync(join(tmpdir(), `orquestador-cluster-${label}-`));
  folders.push(path);
  return path;
};
const env = { DATABASE_URL: url.toString(), SECRET_KEY: randomBytes(24).toString('hex'), RCLONE_REMOTE: folder('remote') };
const contract = await startContractProcess(EXPORT_BYTES);
const replicas = [];
let db;

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
const seconds = (list) => {
  const sorted = [...list].sort((a, b) => a - b);
  return sorted.length === 0 ? 'none' : `p50 ${quantile(sorted, 0.5).toFixed(2)} s, p99 ${quantile(sorted, 0.99).toFixed(2)} s, max ${sorted.at(-1).toFixed(2)} s`;
};
/** `work` over `items`, `width` at a time. */
const inParallel = async (items, width, work) => {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await work(items[next++]);
  }));
};
const stop = async (replica) => {
  if (replica.child.exitCode !== null || replica.child.signalCode !== null) return; // already stopped (a signal sets no exit code)
  replica.child.kill('SIGTERM');
  await new Promise((resolve) => replica.child.once('close', resolve));
};

try {
  // The first replica migrates the empty database; the others then join it.
  replicas.push(await startOrchestrator(folder('r0'), env));
  for (let i = 1; i < REPLICAS; i++) replicas.push(await startOrchestrator(folder(`r${i}`), env));
  const [first] = replicas;
  db = await connect(url.toString());

  // Registered disabled (through the API, so that tokens are sealed as in use), then scheduled for one instant far
  // enough ahead that every replica has heard of every change (within 5 s) before it comes.
  const apps = [];
  await inParallel(Array.from({ length: APPS }, (_, i) => i), 8, async (i) => {
    const app = await first.api('POST', '/api/apps', {
      name: `fire-${i}`, url: contract.url, token: TOKEN, schedule: '0 3 * * *', driveFolderId: `fire-${i}`, retention: 1, enabled: false,
    });
    if (!app.id) throw new Error(`could not register an app: ${JSON.stringify(app)}`);
    apps.push(app);
  });
  const started = Date.now();
  await first.api('PATCH', `/api/apps/${apps[0].id}`, { enabled: false }); // one round trip, to time the others
  const firing = new Date(Math.ceil((Date.now() + (Date.now() - started) * APPS / 8 + 15_000) / 1000) * 1000);
  const schedule = `${firing.getUTCSeconds()} ${firing.getUTCMinutes()} ${firing.getUTCHours()} ${firing.getUTCDate()} ${firing.getUTCMonth() + 1} *`;
  await inParallel(apps, 8, async (app) => {
    const changed = await first.api('PATCH', `/api/apps/${app.id}`, { schedule, timezone: 'UTC', enabled: true });
    if (changed.schedule !== schedule) throw new Error(`could not schedule an app: ${JSON.stringify(changed)}`);
  });
  if (firing.getTime() - Date.now() < 6000) throw new Error('scheduling the apps took longer than foreseen: run again');
  await sleep(firing.getTime() - Date.now());

  // The firing's runs end (or the wait does).
  const deadline = Date.now() + WAIT_S * 1000;
  for (;;) {
    const [{ pending, ended }] = (await db.query(`SELECT COUNT(*) FILTER (WHERE status IN ('queued', 'running'))::int AS pending,
      COUNT(*) FILTER (WHERE status NOT IN ('queued', 'running'))::int AS ended FROM runs WHERE "trigger" = 'schedule'`)).rows;
    const [{ jobs }] = (await db.query(`SELECT COUNT(*)::int AS jobs FROM pgboss.job WHERE name LIKE 'firings.%' AND state NOT IN ('completed', 'failed', 'cancelled')`)).rows;
    if ((pending === 0 && jobs === 0 && ended >= APPS) || Date.now() > deadline) break;
    await sleep(1000);
  }
  const at = firing.getTime() / 1000;
  const runs = (await db.query(`SELECT "appId", status, EXTRACT(EPOCH FROM "queuedAt")::float8 AS queued, EXTRACT(EPOCH FROM "startedAt")::float8 AS started
    FROM runs WHERE "trigger" = 'schedule'`)).rows;
  const perApp = new Map(apps.map((app) => [app.id, 0]));
  for (const run of runs) perApp.set(run.appId, (perApp.get(run.appId) ?? 0) + 1);
  const lost = [...perApp.values()].filter((count) => count === 0).length;
  const duplicated = [...perApp.values()].reduce((sum, count) => sum + Math.max(0, count - 1), 0);
  const statuses = Object.entries(Object.groupBy(runs, (run) => run.status)).map(([status, list]) => `${status} ${list.length}`).join(', ');
  console.log(`${APPS} apps firing at the same second on ${REPLICAS} replicas (PostgreSQL, pg-boss), ${EXPORT_BYTES}-byte exports:`);
  // Queued: the firing's job is in pg-boss (the first replica to submit it made it; the others found its id taken).
  // The run's row is written when a replica with a free slot takes the job, so its queuedAt is nearly its start.
  const queued = (await db.query(`SELECT EXTRACT(EPOCH FROM MIN(created_on))::float8 AS queued FROM pgboss.job
    WHERE name LIKE 'firings.%' AND data->>'handedBackBy' IS NULL AND data->>'kind' = 'backup' GROUP BY data->>'appId'`)).rows;
  console.log(`  firing to queued (job in pg-boss): ${seconds(queued.map((job) => job.queued - at))}  (target p99 < 2 s)`);
  console.log(`  firing to run recorded:  ${seconds(runs.map((run) => run.queued - at))}`);
  console.log(`  firing to started: ${seconds(runs.filter((run) => run.started !== null).map((run) => run.started - at))}  (bounded by MAX_CONCURRENT_BACKUPS per replica)`);
  console.log(`  runs ${runs.length} (${statuses}); lost ${lost}, duplicated ${duplicated}  (target 0 and 0)`);

  // Boot with many apps: the rest seeded straight into PostgreSQL, copies of a registered app (its sealed token too).
  await Promise.all(replicas.map(stop));
  const seeded = Math.max(0, BOOT_APPS - APPS);
  const columns = (await db.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'apps' AND column_name NOT IN ('id', 'name', 'driveFolderId', 'schedule', 'enabled')`)).rows
    .map((row) => `"${row.column_name}"`).join(', ');
  await db.query('BEGIN');
  await db.query(`INSERT INTO apps (name, "driveFolderId", schedule, enabled, ${columns})
    SELECT 'seed-' || g, 'seed-' || g, (g % 60) || ' ' || (g % 24) || ' * * *', true, ${columns} FROM apps, generate_series(1, $1) AS g WHERE apps.id = $2`, [seeded, apps[0].id]);
  await db.query(`INSERT INTO app_destinations ("appId", position, "destinationId", folder)
    SELECT apps.id, 0, template."destinationId", apps."driveFolderId" FROM apps, app_destinations template
    WHERE apps.name LIKE 'seed-%' AND template."appId" = $1 AND template.position = 0`, [apps[0].id]);
  await db.query('COMMIT');
  const [{ total }] = (await db.query('SELECT COUNT(*)::int AS total FROM apps')).rows;
  const booted = await startOrchestrator(folder('boot'), env);
  replicas.push(booted);
  const bootStarted = Date.now() - booted.bootSeconds * 1000;
  let jobs = 0;
  while ((jobs = (await booted.api('GET', '/api/health')).checks?.scheduler?.jobs ?? 0) < total && Date.now() - bootStarted < 120_000) await sleep(100);
  const registered = (Date.now() - bootStarted) / 1000;
  const timings = [];
  for (let i = 0; i < 5; i++) {
    const t0 = process.hrtime.bigint();
    const page = await booted.api('GET', '/api/apps');
    timings.push(Number(process.hrtime.bigint() - t0) / 1e9);
    if (!Array.isArray(page)) throw new Error(`GET /api/apps failed: ${JSON.stringify(page)}`);
  }
  timings.sort((a, b) => a - b);
  console.log(`one replica booting with ${total} apps: healthy after ${booted.bootSeconds.toFixed(2)} s (target < 10 s), ${jobs} cron jobs registered after ${registered.toFixed(2)} s`);
  console.log(`  GET /api/apps (first page) with ${total} apps: median ${(timings[2] * 1000).toFixed(0)} ms, worst ${(timings[4] * 1000).toFixed(0)} ms of 5  (target < 1 s)`);
} finally {
  await Promise.all(replicas.map(stop));
  contract.stop();
  await db?.end();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
  for (const path of folders) rmSync(path, { recursive: true, force: true });
}
