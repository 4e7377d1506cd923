import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { filesIn } from './support/backups';
import { startContractApp } from './support/contract-app.mjs';
import { ADMIN, appInput, waitFor } from './support/orchestrator';
import { servicePort, start, Started, waitForHttp } from './support/processes';
import { ScratchDatabase, scratchDatabase } from './support/postgres';

/**
 * Several real replicas (`node dist/main.js`, as in production) on one real PostgreSQL database, each with a data
 * folder of its own, sharing the backups remote (a local folder) as replicas on several hosts share a cloud remote.
 */
type ContractApp = Awaited<ReturnType<typeof startContractApp>>;

const LEASE_S = 6;
const SECRET_KEY = 'cluster-test-secret-key-0123456789';
const authorization = `Basic ${Buffer.from(`${ADMIN.user}:${ADMIN.password}`).toString('base64')}`;

interface Replica {
  name: string;
  base: string;
  service: Started;
}

let db: ScratchDatabase;
let contract: ContractApp;
let remote: string;
const replicas: Replica[] = [];

async function launch(name: string, env: Record<string, string> = {}): Promise<{ replica: Replica; port: string }> {
  const port = String(await servicePort());
  const service = start(process.execPath, ['dist/main.js'], {
    env: {
      PATH: process.env.PATH, DATA_DIR: mkdtempSync(join(tmpdir(), `orquestador-${name}-`)), PORT: port, HOST: '127.0.0.1',
      ADMIN_PASSWORD: ADMIN.password, SECRET_KEY, DATABASE_URL: db.url, RCLONE_REMOTE: remote, RUN_LEASE_S: String(LEASE_S),
      SHUTDOWN_GRACE_S: '1', MAX_CONCURRENT_BACKUPS: '2', ...env,
    },
  });
  const replica = { name, base: `http://127.0.0.1:${port}`, service };
  replicas.push(replica);
  return { replica, port };
}

async function startReplica(name: string, env: Record<string, string> = {}): Promise<Replica> {
  for (let attempt = 1; ; attempt++) {
    const { replica } = await launch(name, env);
    // The port was free when drawn, but another process of the suite may bind it first: then another port.
    const portTaken = () => (replica.service.output().includes('EADDRINUSE') ? 'its port is taken' : null);
    try {
      await waitForHttp(`${replica.base}/api/health`, 30_000, portTaken);
      return replica;
    } catch (error) {
      if (portTaken() === null || attempt === 3) throw new Error(`${(error as Error).message}\n${replica.service.output()}`);
      replicas.splice(replicas.indexOf(replica), 1);
      await replica.service.stop();
    }
  }
}

async function api(replica: Replica, method: string, path: string, body?: object): Promise<{ status: number; body: any }> {
  const response = await fetch(`${replica.base}${path}`, {
    method,
    headers: { Authorization: authorization, ...(body && { 'Content-Type': 'application/json' }) },
    body: body && JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

async function register(replica: Replica, overrides: Record<string, unknown>): Promise<{ id: number; name: string }> {
  const { status, body } = await api(replica, 'POST', '/api/apps', appInput({ url: contract.url, ...overrides }));
  expect(status, JSON.stringify(body)).toBe(201);
  return body;
}

/** Which replica ran (or runs) a run: its lease stays as that record. */
async function holderOf(runId: number): Promise<string | undefined> {
  return (await db.query<{ replicaId: string }>('SELECT "replicaId" FROM run_leases WHERE "runId" = $1', [runId]))[0]?.replicaId;
}

beforeAll(async () => {
  db = await scratchDatabase();
  contract = await startContractApp();
  remote = mkdtempSync(join(tmpdir(), 'orquestador-cluster-remote-'));
});

afterEach(async () => {
  await Promise.all(replicas.splice(0).map((replica) => replica.service.stop()));
  // Each test starts from an empty registry (the schema and the key check stay).
  await db.query('TRUNCATE apps, app_destinations, runs, run_destinations, run_leases, replicas RESTART IDENTITY');
  await db.query(`DELETE FROM cluster_settings WHERE key = 'admin-check'`);
  await db.query('DELETE FROM pgboss.job').catch(() => undefined);
  contract.setMode({ size: 64 * 1024, delayMs: 0 });
});

afterAll(async () => {
  await contract?.close();
  await db?.drop();
});

describe('cluster mode: several replicas on PostgreSQL', () => {
  it('runs each scheduled firing exactly once with three replicas, and spreads the firings over them', async () => {
    contract.setMode({ size: 64 * 1024, delayMs: 0 });
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((name) => startReplica(name)));
    const apps = [];
    const registering = Date.now();
    for (let i = 0; i < 20; i++) apps.push(await register([a, b, c][i % 3], { name: `app-${i}`, driveFolderId: `app-${i}`, schedule: '*/2 * * * * *' }));
    const from = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 30_000));
    const disabling = new Map<number, number>();
    for (const app of apps) {
      disabling.set(app.id, Date.now());
      expect((await api(a, 'PATCH', `/api/apps/${app.id}`, { enabled: false })).status).toBe(200);
    }
    const to = Date.now();
    // The last firings are taken and end (a loaded machine may have a backlog of them).
    await waitFor(async () => ((await db.query(`SELECT 1 FROM pgboss.job WHERE name = 'firings.default' AND state NOT IN ('completed', 'failed')`)).length === 0 ? true : undefined), 60_000);
    await waitFor(async () => ((await db.query(`SELECT 1 FROM runs WHERE status IN ('queued', 'running')`)).length === 0 ? true : undefined), 60_000);
    expect(await db.query(`SELECT id FROM pgboss.job WHERE name = 'firings.default' AND state = 'failed'`)).toEqual([]);

    const runs = await db.query<{ id: number; appId: number; status: string; error: string | null; log: string; replicaId: string | null }>(
      `SELECT runs.id, "appId", status, error, log, lease."replicaId" FROM runs LEFT JOIN run_leases lease ON lease."runId" = runs.id ORDER BY id`,
    );
    // Each of the three replicas submitted every firing: pg-boss kept one job per firing (besides those a replica with no
    // free slot gave back, under ids of their own). A job's output names the run it became.
    const jobs = await db.query<{ appId: number; due: string; runId: number | null; handedBack: boolean; completedOn: Date }>(
      `SELECT (data->>'appId')::int AS "appId", data->>'due' AS due, (output->>'runId')::int AS "runId",
              COALESCE(output ? 'handedBack', false) AS "handedBack", completed_on AS "completedOn"
       FROM pgboss.job WHERE name = 'firings.default'`,
    );
    // Firings between registration and disabling: one every 2 s (the first and last may fall outside the window).
    const firings = (appId: number) => Math.floor((disabling.get(appId)! - from) / 2000);
    // At most: every even second from the first app's registration to the last app's disabling, and one in flight.
    const possible = Math.ceil((to - registering) / 2000) + 1;
    const ranOn = new Set<string>();
    for (const app of apps) {
      const own = runs.filter((run) => run.appId === app.id);
      // A firing that came while the app's previous run still ran (a slow start on a loaded machine) is skipped, as in embedded mode.
      for (const run of own) {
        expect(run.status === 'succeeded' || (run.status === 'skipped' && /still running/.test(run.error!)), JSON.stringify(run)).toBe(true);
      }
      // One run per job, one job per firing: none lost, none run twice.
      // (A firing that came while the app's run still waited for a slot on the replica that took it is served by that run.)
      const served = own.reduce((sum, run) => sum + (run.log.match(/this run serves it/g)?.length ?? 0), 0);
      const ran = jobs.filter((job) => job.appId === app.id && job.runId !== null);
      expect(ran.length).toBe(own.length + served);
      expect(new Set(ran.map((job) => job.runId))).toEqual(new Set(own.map((run) => run.id)));
      // A job that became no run was taken once the app was disabled (it waited for a poll, or for a slot): none before.
      const dropped = jobs.filter((job) => job.appId === app.id && job.runId === null && !job.handedBack);
      for (const job of dropped) expect(job.completedOn.getTime(), JSON.stringify(job)).toBeGreaterThanOrEqual(disabling.get(app.id)!);
      // None lost: each firing became (or was served by) a run, or still waited (for a slot, on a loaded machine) when its app was disabled.
      expect(ran.length + dropped.length).toBeGreaterThanOrEqual(firings(app.id) - 1);
      expect(own.length).toBeLessThanOrEqual(possible);
      for (const run of own.filter((r) => r.status === 'succeeded')) ranOn.add(run.replicaId!);
    }
    expect(ranOn.size).toBeGreaterThan(1);
  }, 120_000);

  it('drills once per scheduled firing with two replicas of the zone, and drops a firing taken after the drills were turned off', async () => {
    const drillInstance = await startContractApp({ token: 'drill-token' });
    try {
      const [a, b] = await Promise.all([startReplica('a'), startReplica('b')]);
      const app = await register(a, { name: 'drilled', drillUrl: drillInstance.url, drillToken: 'drill-token' });
      const { body: backup } = await api(b, 'POST', `/api/apps/${app.id}/run`);
      await waitFor(async () => ((await api(a, 'GET', `/api/runs/${backup.runId}`)).body.status === 'succeeded' ? true : undefined));
      expect((await api(b, 'PATCH', `/api/apps/${app.id}`, { drillSchedule: '*/2 * * * * *' })).status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, 9000));
      expect((await api(a, 'PATCH', `/api/apps/${app.id}`, { drillSchedule: null })).status).toBe(200);
      const off = Date.now();
      await waitFor(async () => ((await db.query(`SELECT 1 FROM pgboss.job WHERE name = 'firings.default' AND state NOT IN ('completed', 'failed')`)).length === 0 ? true : undefined));
      await waitFor(async () => ((await db.query(`SELECT 1 FROM runs WHERE status IN ('queued', 'running')`)).length === 0 ? true : undefined));

      // Both replicas fired every drill; one of them ran it: no second drill, nor a "skipped" one, for the same firing.
      const drills = await db.query<{ id: number; status: string }>(`SELECT id, status FROM runs WHERE "appId" = $1 AND kind = 'drill' ORDER BY id`, [app.id]);
      expect(drills.length).toBeGreaterThanOrEqual(3);
      expect(drills.map((run) => run.status)).toEqual(drills.map(() => 'succeeded'));
      const jobs = await db.query<{ due: string; runId: number | null }>(
        `SELECT data->>'due' AS due, (output->>'runId')::int AS "runId" FROM pgboss.job WHERE name = 'firings.default' AND data->>'kind' = 'drill'`,
      );
      expect(jobs.filter((job) => job.runId !== null).map((job) => job.runId).sort()).toEqual(drills.map((run) => run.id).sort());
      // A firing queued before the drills were turned off and taken after: nothing ran for it.
      for (const job of jobs.filter((j) => j.runId === null)) expect(new Date(job.due).getTime()).toBeGreaterThan(off - 3000);
    } finally {
      await drillInstance.close();
    }
  }, 60_000);

  it("shows on every replica's /metrics the last backup, whichever replica made it", async () => {
    const [a, b] = await Promise.all([startReplica('a'), startReplica('b')]);
    const app = await register(a, { name: 'watched' });
    const { body } = await api(a, 'POST', `/api/apps/${app.id}/run`);
    const run = await waitFor(async () => {
      const found = (await api(a, 'GET', `/api/runs/${body.runId}`)).body;
      return found.status === 'succeeded' ? found : undefined;
    });
    const scrape = async (replica: Replica) => (await fetch(`${replica.base}/metrics`, { headers: { Authorization: authorization } })).text();
    const lastSuccess = `backup_last_success_timestamp_seconds{app="watched"} ${Date.parse(run.finishedAt) / 1000}`;
    expect(await scrape(a)).toContain(lastSuccess);
    // B booted before the backup and ran nothing: it reads the state from the database when scraped.
    const seenByB = await scrape(b);
    expect(seenByB).toContain(lastSuccess);
    expect(seenByB).toContain(`backup_last_size_bytes{app="watched"} ${run.bytes}`);
    expect(seenByB).toContain(`backup_destination_last_success_timestamp_seconds{app="watched",destination="default"} ${Date.parse(run.finishedAt) / 1000}`);
    // Counters stay per replica (Prometheus sums them over the scraped instances).
    expect(seenByB).not.toMatch(/backup_runs_total\{app="watched"/);
  }, 60_000);

  it('follows a schedule changed on one replica on the others within 5 s', async () => {
    const [a, b] = await Promise.all([startReplica('a'), startReplica('b')]);
    const app = await register(a, { name: 'moving', schedule: '0 3 * * *' });
    await waitFor(async () => ((await api(b, 'GET', `/api/apps/${app.id}`)).body.nextRunAt ? true : undefined));
    const changedAt = Date.now();
    expect((await api(a, 'PATCH', `/api/apps/${app.id}`, { schedule: '*/2 * * * * *' })).status).toBe(200);
    // B's own job now fires at the new time.
    await waitFor(async () => {
      const next = (await api(b, 'GET', `/api/apps/${app.id}`)).body.nextRunAt;
      return next && new Date(next).getTime() - Date.now() <= 2000 ? true : undefined;
    }, 5000);
    expect(Date.now() - changedAt).toBeLessThan(5000);
    // A stopped: the firings go on, on B.
    await a.service.stop();
    const since = Date.now();
    const fired = await waitFor(async () => {
      const [row] = await db.query<{ id: number }>(`SELECT id FROM runs WHERE "appId" = $1 AND status = 'succeeded' AND "queuedAt" > $2 ORDER BY id DESC LIMIT 1`, [app.id, new Date(since)]);
      return row;
    }, 8000);
    expect(await holderOf(fired.id)).toBeTruthy();
    // Deleted on B: A is gone, but B stops firing it at once (and nothing is left scheduled).
    expect((await api(b, 'DELETE', `/api/apps/${app.id}`)).status).toBe(204);
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect((await db.query(`SELECT 1 FROM runs WHERE "appId" = $1 AND "queuedAt" > now() - interval '1500 milliseconds'`, [app.id])).length).toBe(0);
  }, 60_000);

  it('follows a change made while its connection to the other replicas was cut, once it is back', async () => {
    const [a, b] = await Promise.all([startReplica('a'), startReplica('b')]);
    const app = await register(a, { name: 'unheard', schedule: '0 3 * * *' });
    await waitFor(async () => ((await api(b, 'GET', `/api/apps/${app.id}`)).body.nextRunAt ? true : undefined));
    // Every replica's relay connection cut (a network blip): the change made now is announced to nobody.
    await db.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'app-orquestador relay'`);
    expect((await api(a, 'PATCH', `/api/apps/${app.id}`, { schedule: '0 4 * * *' })).status).toBe(200);
    await waitFor(async () => (/T04:00:00\.000Z$/.test((await api(b, 'GET', `/api/apps/${app.id}`)).body.nextRunAt) ? true : undefined), 8000);
    expect(b.service.output()).toMatch(/hearing the other replicas again; followed the [1-9]\d* app\(s\) saved since/);
  }, 60_000);

  it('shows the live progress of a run on another replica, cancels it from there, refuses a second run of it anywhere (409), and fails it "replica lost" within the lease when its replica is killed, removing its temporary file; a restarting replica leaves it alone', async () => {
    const started = await Promise.all([startReplica('a'), startReplica('b')]);
    let a = started[0];
    const b = started[1];
    // 64 MiB at about 2.5 MiB/s: long enough to watch, to kill the replica mid-upload.
    contract.setMode({ size: 64 * 1024 * 1024, delayMs: 25 });
    const app = await register(a, { name: 'slow', driveFolderId: 'slow' });

    // A cancel asked on A reaches B, which runs it.
    const first = (await api(b, 'POST', `/api/apps/${app.id}/run`)).body.runId;
    await waitFor(async () => ((await api(a, 'GET', `/api/runs/${first}`)).body.bytes > 0 ? true : undefined));
    const cancel = await api(a, 'POST', `/api/runs/${first}/cancel`);
    expect(cancel.status, JSON.stringify(cancel.body)).toBeLessThan(300);
    const cancelled = await waitFor(async () => {
      const run = (await api(a, 'GET', `/api/runs/${first}`)).body;
      return run.status === 'running' ? undefined : run;
    });
    expect(cancelled.status).toBe('cancelled');

    const trigger = await api(b, 'POST', `/api/apps/${app.id}/run`);
    expect(trigger.status).toBe(202);
    const runId = trigger.body.runId;
    // Any replica refuses a second run of the app while B runs it.
    expect((await api(a, 'POST', `/api/apps/${app.id}/run`)).status).toBe(409);

    // A shows B's bytes growing, at least once a second.
    const seen: number[] = [];
    for (let i = 0; i < 4; i++) {
      seen.push((await api(a, 'GET', `/api/runs/${runId}`)).body.bytes);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    for (let i = 1; i < seen.length; i++) expect(seen[i], `bytes seen from A: ${seen}`).toBeGreaterThan(seen[i - 1]);
    const running = (await api(a, 'GET', `/api/runs/${runId}`)).body;
    expect(running.status).toBe('running');
    const runningOn = await holderOf(runId);
    expect(runningOn).toBeTruthy();
    const temporary = () => filesIn(join(remote, 'slow')).filter((name) => name.includes(`.run${runId}.partial`));
    expect(temporary()).not.toEqual([]);

    // A restarts: its boot recovery must not fail B's live run (the embedded boot fails every unfinished run).
    await a.service.stop();
    a = await startReplica('a-again');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect((await api(a, 'GET', `/api/runs/${runId}`)).body.status).toBe('running');

    // Every replica lists the live ones, and who runs what.
    const listed = (await api(a, 'GET', '/api/replicas')).body as { id: string; runs: number }[];
    expect(listed).toHaveLength(2);
    expect(listed.find((replica) => replica.id === runningOn)?.runs).toBe(1);

    b.service.child.kill('SIGKILL');
    const killedAt = Date.now();
    const failed = await waitFor(async () => {
      const run = (await api(a, 'GET', `/api/runs/${runId}`)).body;
      return run.status === 'running' ? undefined : run;
    }, LEASE_S * 1000 + 5000);
    const noticedMs = Date.now() - killedAt;
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/replica lost/);
    expect(noticedMs).toBeLessThanOrEqual(LEASE_S * 1000);
    await waitFor(() => (temporary().length === 0 ? true : undefined), 5000);
    // B is no longer listed: its heartbeat is older than a lease.
    expect(((await api(a, 'GET', '/api/replicas')).body as { id: string }[]).map((replica) => replica.id)).not.toContain(runningOn);

    // The app is free again: the survivor runs it.
    contract.setMode({ size: 64 * 1024, delayMs: 0 });
    const again = await api(a, 'POST', `/api/apps/${app.id}/run`);
    expect(again.status).toBe(202);
    const done = await waitFor(async () => {
      const run = (await api(a, 'GET', `/api/runs/${again.body.runId}`)).body;
      return run.status === 'succeeded' ? run : undefined;
    });
    expect(done.bytes).toBe(64 * 1024);
    // And its firings run there.
    expect((await api(a, 'PATCH', `/api/apps/${app.id}`, { schedule: '*/2 * * * * *' })).status).toBe(200);
    const fired = await waitFor(async () => {
      const [row] = await db.query<{ id: number }>(`SELECT id FROM runs WHERE "appId" = $1 AND trigger = 'schedule' AND status = 'succeeded' LIMIT 1`, [app.id]);
      return row;
    }, 8000);
    const [survivor] = (await api(a, 'GET', '/api/replicas')).body as { id: string }[];
    expect(await holderOf(fired.id)).toBe(survivor.id);
  }, 60_000);

  it('on SIGTERM, a replica takes no more firings, stops its runs after SHUTDOWN_GRACE_S and exits, and the others go on with the firings', async () => {
    const [a, b] = await Promise.all([startReplica('a'), startReplica('b')]);
    contract.setMode({ size: 64 * 1024 * 1024, delayMs: 25 });
    const slow = await register(a, { name: 'slow', driveFolderId: 'slow' });
    // Its own app, which answers at once.
    const fast = await startContractApp();
    const ticking = await register(a, { name: 'ticking', driveFolderId: 'ticking', schedule: '*/2 * * * * *', url: fast.url });
    const { body } = await api(b, 'POST', `/api/apps/${slow.id}/run`);
    await waitFor(async () => ((await api(b, 'GET', `/api/runs/${body.runId}`)).body.status === 'running' ? true : undefined));

    const stoppedAt = Date.now();
    await b.service.stop();
    // Nest ends by raising SIGTERM again once it has closed: no error exit.
    expect(b.service.child.exitCode ?? 0).toBe(0);
    // SHUTDOWN_GRACE_S=1, then the run is stopped and recorded by B itself: not left for the lease.
    expect(Date.now() - stoppedAt).toBeLessThan(8000);
    const stopped = (await api(a, 'GET', `/api/runs/${body.runId}`)).body;
    expect(stopped.status).toBe('failed');
    expect(stopped.error).toMatch(/stopped by shutdown/);

    const since = new Date();
    const later = await waitFor(async () => {
      const rows = await db.query<{ id: number }>(`SELECT id FROM runs WHERE "appId" = $1 AND status = 'succeeded' AND "queuedAt" > $2`, [ticking.id, since]);
      return rows.length >= 2 ? rows : undefined;
    }, 10_000);
    const stoppedReplica = await holderOf(body.runId);
    expect(stoppedReplica).toBeTruthy();
    for (const row of later) expect(await holderOf(row.id)).not.toBe(stoppedReplica);
    await fast.close();
  }, 60_000);

  it('never queues a firing behind the manual runs that fill a replica: it waits in the cluster queue for a replica with room', async () => {
    const a = await startReplica('a', { MAX_CONCURRENT_BACKUPS: '1' });
    contract.setMode({ size: 64 * 1024 * 1024, delayMs: 25 });
    const slow = await register(a, { name: 'slow', driveFolderId: 'slow' });
    const manual = (await api(a, 'POST', `/api/apps/${slow.id}/run`)).body.runId;
    await waitFor(async () => ((await api(a, 'GET', `/api/runs/${manual}`)).body.status === 'running' ? true : undefined));
    const fast = await startContractApp();
    try {
      const ticking = await register(a, { name: 'ticking', driveFolderId: 'ticking', schedule: '*/2 * * * * *', url: fast.url });
      // A has no room: its firings go back to the queue instead of waiting as queued runs behind the manual one.
      await new Promise((resolve) => setTimeout(resolve, 4500));
      expect(await db.query(`SELECT id, status FROM runs WHERE "appId" = $1`, [ticking.id])).toEqual([]);
      // A replica with room takes them.
      await startReplica('b', { MAX_CONCURRENT_BACKUPS: '1' });
      const done = await waitFor(async () => {
        const rows = await db.query<{ id: number }>(`SELECT id FROM runs WHERE "appId" = $1 AND status = 'succeeded'`, [ticking.id]);
        return rows.length >= 2 ? rows : undefined;
      }, 15_000);
      const busy = await holderOf(manual);
      for (const row of done) expect(await holderOf(row.id)).not.toBe(busy);
      expect((await api(a, 'GET', `/api/runs/${manual}`)).body.status).toBe('running');
    } finally {
      await fast.close();
    }
  }, 60_000);

  it('with two zones, runs each app only on a replica of its zone (scheduled and manual, asked on any replica), and fails at once the runs of a zone with no replica, naming it', async () => {
    const [east, west] = await Promise.all([startReplica('east', { REPLICA_ZONE: 'east' }), startReplica('west', { REPLICA_ZONE: 'west' })]);
    const listed = (await api(east, 'GET', '/api/replicas')).body as { id: string; zone: string; version: string; startedAt: string; heartbeatAt: string; runs: number }[];
    expect(listed.map((replica) => replica.zone).sort()).toEqual(['east', 'west']);
    for (const replica of listed) expect(Object.keys(replica).sort()).toEqual(['heartbeatAt', 'id', 'runs', 'startedAt', 'version', 'zone']);
    const idOf = (zone: string) => listed.find((replica) => replica.zone === zone)!.id;

    const registering = Date.now();
    const apps = {
      east: await register(west, { name: 'in-east', driveFolderId: 'in-east', zone: 'east', schedule: '*/2 * * * * *' }),
      west: await register(east, { name: 'in-west', driveFolderId: 'in-west', zone: 'west', schedule: '*/2 * * * * *' }),
      north: await register(east, { name: 'in-north', driveFolderId: 'in-north', zone: 'north', schedule: '*/2 * * * * *' }),
    };
    const from = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 7000));
    const health = (await api(west, 'GET', '/api/health')).body;
    expect(health.status).toBe('degraded');
    expect(health.checks.zones).toEqual({ status: 'error', error: expect.stringMatching(/^no replica in zone north/), unserved: [{ zone: 'north', apps: 1 }] });
    for (const app of Object.values(apps)) expect((await api(east, 'PATCH', `/api/apps/${app.id}`, { enabled: false })).status).toBe(200);
    const to = Date.now();
    // The last firings are taken and end.
    await waitFor(async () => ((await db.query(`SELECT 1 FROM pgboss.job WHERE name LIKE 'firings.%' AND state NOT IN ('completed', 'failed', 'cancelled')`)).length === 0 ? true : undefined));
    await waitFor(async () => ((await db.query(`SELECT 1 FROM runs WHERE status IN ('queued', 'running')`)).length === 0 ? true : undefined));
    const firings = Math.floor((to - from) / 2000);
    // At most: every even second from the first app's registration to the last app's disabling, and one in flight.
    const possible = Math.ceil((to - registering) / 2000) + 1;

    const runsOf = (appId: number) => db.query<{ id: number; status: string; error: string | null; replicaId: string | null }>(
      `SELECT runs.id, status, error, lease."replicaId" FROM runs LEFT JOIN run_leases lease ON lease."runId" = runs.id WHERE "appId" = $1 ORDER BY runs.id`, [appId]);
    for (const zone of ['east', 'west'] as const) {
      const runs = await runsOf(apps[zone].id);
      expect(runs.length, zone).toBeGreaterThanOrEqual(firings - 1);
      for (const run of runs) {
        expect(run.status === 'succeeded' || (run.status === 'skipped' && /still running/.test(run.error!)), JSON.stringify(run)).toBe(true);
        if (run.status === 'succeeded') expect(run.replicaId, `${zone}: ${JSON.stringify(run)}`).toBe(idOf(zone));
      }
    }
    // North has no replica: each firing fails at once, once (not once per replica), and its URL is never asked.
    const north = await runsOf(apps.north.id);
    expect(north.length).toBeGreaterThanOrEqual(firings - 1);
    expect(north.length).toBeLessThanOrEqual(possible);
    for (const run of north) expect(run, JSON.stringify(run)).toMatchObject({ status: 'failed', error: expect.stringMatching(/no replica in zone north/), replicaId: null });
    // Its jobs were withdrawn: a replica of north started later does not run old firings.
    expect(await db.query(`SELECT id FROM pgboss.job WHERE name = 'firings.north' AND state <> 'cancelled'`)).toEqual([]);
    // Disabled apps count for nothing: all is well again.
    expect((await api(west, 'GET', '/api/health')).body.checks.zones).toEqual({ status: 'ok' });
    expect((await api(east, 'PATCH', `/api/apps/${apps.west.id}`, { enabled: true, schedule: '0 3 * * *' })).status).toBe(200);

    // Manual runs asked on a replica of another zone are handed over: 202 {runId}, run by the app's zone.
    const handed = await api(east, 'POST', `/api/apps/${apps.west.id}/run`);
    expect(handed.status, JSON.stringify(handed.body)).toBe(202);
    const done = await waitFor(async () => {
      const run = (await api(east, 'GET', `/api/runs/${handed.body.runId}`)).body;
      return ['queued', 'running'].includes(run.status) ? undefined : run;
    });
    expect(done.status).toBe('succeeded');
    expect(await holderOf(handed.body.runId)).toBe(idOf('west'));
    // The zone's replica answers for the caller: its refusals come back as they are (400 naming the backup; 404).
    const refused = await api(east, 'POST', `/api/apps/${apps.west.id}/restore`, { backup: 'in-west-20200101T000000Z.db' });
    expect(refused.status, JSON.stringify(refused.body)).toBe(400);
    expect(JSON.stringify(refused.body)).toMatch(/in-west-20200101T000000Z\.db/);
    // A slow run on west: a second manual run asked on east is refused 409, as on west itself.
    contract.setMode({ size: 64 * 1024 * 1024, delayMs: 25 });
    const slow = (await api(east, 'POST', `/api/apps/${apps.west.id}/run`)).body.runId;
    await waitFor(async () => ((await api(east, 'GET', `/api/runs/${slow}`)).body.status === 'running' ? true : undefined));
    expect((await api(east, 'POST', `/api/apps/${apps.west.id}/run`)).status).toBe(409);
    expect((await api(east, 'POST', `/api/runs/${slow}/cancel`)).status).toBeLessThan(300);
    expect(await holderOf(slow)).toBe(idOf('west'));

    // A manual run of north fails at once, recorded, with the same reason.
    const northRun = await api(west, 'POST', `/api/apps/${apps.north.id}/run`);
    expect(northRun.status).toBe(202);
    expect((await api(west, 'GET', `/api/runs/${northRun.body.runId}`)).body).toMatchObject({ status: 'failed', error: expect.stringMatching(/no replica in zone north/) });

    // West stops: its apps' runs now fail at once too, instead of waiting in its queue for a replica that is gone.
    await west.service.stop();
    const orphan = await api(east, 'POST', `/api/apps/${apps.west.id}/run`);
    expect(orphan.status).toBe(202);
    expect((await api(east, 'GET', `/api/runs/${orphan.body.runId}`)).body).toMatchObject({ status: 'failed', error: expect.stringMatching(/no replica in zone west/) });
    expect((await api(east, 'GET', '/api/health')).body.checks.zones.error).toMatch(/no replica in zone west/);
  }, 90_000);

  it('fails the firings left queued in a zone whose last replica dies, instead of leaving them for a replica that may never come', async () => {
    const east = await startReplica('east', { REPLICA_ZONE: 'east' });
    const west = await startReplica('west', { REPLICA_ZONE: 'west', MAX_CONCURRENT_BACKUPS: '1' });
    contract.setMode({ size: 64 * 1024 * 1024, delayMs: 25 });
    const slow = await register(east, { name: 'slow', driveFolderId: 'slow', zone: 'west' });
    const manual = (await api(east, 'POST', `/api/apps/${slow.id}/run`)).body.runId;
    await waitFor(async () => ((await api(east, 'GET', `/api/runs/${manual}`)).body.status === 'running' ? true : undefined));
    const fast = await startContractApp();
    try {
      // West's one slot is taken: its firings go back to its queue, where they wait.
      const ticking = await register(east, { name: 'ticking', driveFolderId: 'ticking', zone: 'west', schedule: '*/2 * * * * *', url: fast.url });
      const waiting = await waitFor(async () => {
        const rows = await db.query<{ id: string }>(`SELECT id FROM pgboss.job WHERE name = 'firings.west' AND state = 'created'`);
        return rows.length > 0 ? rows : undefined;
      }, 10_000);
      west.service.child.kill('SIGKILL');
      await waitFor(async () => {
        const rows = await db.query<{ state: string }>(`SELECT state FROM pgboss.job WHERE name = 'firings.west' AND id = ANY($1::uuid[])`, [waiting.map((job) => job.id)]);
        return rows.every((row) => row.state === 'cancelled') ? true : undefined;
      }, LEASE_S * 1000);
      // Until west's heartbeat is old enough to count it gone, a new firing may still be queued for it: it goes the same way.
      await waitFor(async () => ((await db.query(`SELECT id FROM pgboss.job WHERE name = 'firings.west' AND state = 'created'`)).length === 0 ? true : undefined), LEASE_S * 1000);
      // A sweeping replica cancels a job, then records its run: the record comes a moment after the cancel.
      const failed = await waitFor(async () => {
        const rows = await db.query<{ error: string }>(`SELECT error FROM runs WHERE "appId" = $1 AND status = 'failed'`, [ticking.id]);
        return rows.length >= waiting.length ? rows : undefined;
      }, LEASE_S * 1000);
      expect(failed.length).toBeGreaterThanOrEqual(waiting.length);
      for (const run of failed) expect(run.error).toMatch(/no replica in zone west/);
      expect(await db.query(`SELECT id FROM runs WHERE "appId" = $1 AND status = 'succeeded'`, [ticking.id])).toEqual([]);
    } finally {
      await fast.close();
    }
  }, 60_000);

  it('fails a manual run handed to a zone whose replica looks alive but never takes it, after 15 s, and withdraws the request', async () => {
    const a = await startReplica('a');
    const app = await register(a, { name: 'ghostly', driveFolderId: 'ghostly', zone: 'ghost' });
    // A replica of zone ghost that still heartbeats (as far as the table says) but works no queue: hung, or cut off from pg-boss.
    await db.query(`INSERT INTO replicas (id, "startedAt", "heartbeatAt", version, zone) VALUES ('ghost-1', now(), now() + interval '1 hour', '0.0.0', 'ghost')`);
    const askedAt = Date.now();
    const asked = await api(a, 'POST', `/api/apps/${app.id}/run`);
    expect(asked.status, JSON.stringify(asked.body)).toBe(202);
    expect(Date.now() - askedAt).toBeGreaterThanOrEqual(15_000);
    expect((await api(a, 'GET', `/api/runs/${asked.body.runId}`)).body).toMatchObject({ status: 'failed', error: expect.stringMatching(/no replica in zone ghost/) });
    expect(await db.query(`SELECT id FROM pgboss.job WHERE name = 'requests.ghost'`)).toEqual([]);
  }, 60_000);

  it('refuses to start a replica whose SECRET_KEY differs from the others, or whose admin credentials differ from those of a running replica', async () => {
    const a = await startReplica('a');
    const exitOf = async (name: string, env: Record<string, string>) => {
      const { replica } = await launch(name, env);
      const code = await new Promise<number | null>((resolve) => replica.service.child.once('close', resolve));
      return { code, output: replica.service.output() };
    };
    const otherKey = await exitOf('other-key', { SECRET_KEY: 'another-secret-key-0123456789' });
    expect(otherKey.code).toBe(1);
    expect(otherKey.output).toMatch(/SECRET_KEY: differs from the key the other replicas/);
    const otherPassword = await exitOf('other-password', { ADMIN_PASSWORD: 'another-password-123' });
    expect(otherPassword.code).toBe(1);
    expect(otherPassword.output).toMatch(/ADMIN_USER, ADMIN_PASSWORD: differ from those of the running replicas/);
    expect(otherPassword.output).not.toContain('another-password-123');
    // With no replica running, new credentials are how they change.
    await a.service.stop();
    await startReplica('new-password', { ADMIN_PASSWORD: 'another-password-123' });
  }, 60_000);
});

