import { chmodSync, chownSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ENVIRONMENT_VARIABLES } from '../src/config/environment';
import { run, servicePort, start, waitForHttp } from './support/processes';

const dockerfile = readFileSync('Dockerfile', 'utf8');
const runtimeStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
const packageJson = JSON.parse(readFileSync('package.json', 'utf8'));

/** The JSON-array (exec form) argument of a Dockerfile instruction in the runtime stage. */
function execForm(instruction: 'CMD' | 'ENTRYPOINT' | 'HEALTHCHECK'): string[] {
  const line = new RegExp(`^${instruction}\\b[^\\[]*(\\[.*\\])\\s*$`, 'm').exec(runtimeStage.replace(/\\\n\s*/g, ''));
  expect(line, `${instruction} in exec form`).not.toBeNull();
  return JSON.parse(line![1]);
}

/** ENV of the runtime stage, as the container starts with it. */
function imageEnv(): Record<string, string> {
  const block = /^ENV\s+((?:.*\\\n)*.*)$/m.exec(runtimeStage)![1].replace(/\\\n/g, ' ');
  return Object.fromEntries([...block.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]]));
}

/** Whether an unprivileged user can reach this path (a clone in a mode-700 temp folder, or a Node under /root, cannot). */
function othersCanReach(path: string): boolean {
  for (let dir = path; ; dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) return false;
    if (dir === dirname(dir)) return true;
  }
}

describe('runtime', () => {
  it('is Node.js 24, as package.json, the image and .ci/run say', () => {
    expect(packageJson.engines.node).toBe('>=24');
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(24);
    expect(readFileSync('.ci/run', 'utf8')).toMatch(/scripts\/ensure-node\.sh/);
  });
});

describe('Docker image', () => {
  it('builds on node:24-bookworm-slim with rclone from Debian, runs as a non-root user under an init', () => {
    expect(runtimeStage).toMatch(/^\s*FROM node:24-bookworm-slim\s*$/m);
    expect(runtimeStage).toMatch(/apt-get install[^\n]*\brclone\b/);
    expect(runtimeStage).toMatch(/^USER node$/m);
    expect(execForm('ENTRYPOINT')).toEqual(['/usr/bin/tini', '--']);
    expect(imageEnv()).toMatchObject({ DATA_DIR: '/data', PORT: '8080' });
    expect(runtimeStage).toMatch(/^VOLUME \[.*"\/data".*\]$/m);
    expect(runtimeStage).not.toMatch(/COPY --from=build \/app\/src/);
    // Everything the service reads from its working directory at run time is in the image.
    for (const path of ['node_modules', 'dist', 'views', 'public', 'package.json']) {
      expect(runtimeStage).toMatch(new RegExp(`^COPY (--from=build \\/app\\/)?${path}\\b`, 'm'));
    }
  });

  it('starts with the same command as npm run start:prod, and its healthcheck probes /api/health', () => {
    expect(execForm('CMD').join(' ')).toBe(packageJson.scripts['start:prod']);
    expect(execForm('HEALTHCHECK').join(' ')).toContain('/api/health');
  });

  it('runs the built service as the image would (its ENV, a non-root user where the checkout and Node allow, DATA_DIR) and passes its own healthcheck', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'orquestador-image-'));
    const asUser = process.getuid?.() === 0 && othersCanReach(process.cwd()) && othersCanReach(process.execPath) ? { uid: 65534, gid: 65534 } : {};
    if (asUser.uid) chownSync(dataDir, asUser.uid, asUser.gid!);
    chmodSync(dataDir, 0o700);
    const port = String(await servicePort());
    const env = { PATH: process.env.PATH, ...imageEnv(), DATA_DIR: dataDir, PORT: port, RCLONE_CONFIG: join(dataDir, 'rclone.conf'), HOME: dataDir };
    const [command, ...args] = execForm('CMD');
    const service = start(command === 'node' ? process.execPath : command, args, { env, ...asUser });
    try {
      await waitForHttp(`http://127.0.0.1:${port}/api/health`);
      const [probe, ...probeArgs] = execForm('HEALTHCHECK');
      const health = await run(probe === 'node' ? process.execPath : probe, probeArgs, { env });
      expect(health.code).toBe(0);
      expect(service.output()).toContain('Generated the admin password');
    } finally {
      expect(await service.stop()).not.toBe(1);
    }
    const healthAfterStop = await run(process.execPath, execForm('HEALTHCHECK').slice(1), { env });
    expect(healthAfterStop.code).toBe(1); // the probe really fails when nothing answers
  });
});

describe('docker-compose.yml', () => {
  // Merge keys (<<: *replica) as Docker Compose reads them.
  const compose = parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true });

  it('runs the orchestrator on the external backups_net network with its env file, volumes and restart policy', () => {
    const service = compose.services.orquestador;
    expect(service.build).toBe('.');
    expect(service.networks).toEqual(['backups']);
    expect(compose.networks.backups).toEqual({ external: true, name: '${BACKUPS_NETWORK:-backups_net}' });
    expect(service.env_file).toEqual([{ path: '.env', required: false }]);
    expect(service.environment).toMatchObject({ DATA_DIR: '/data', PORT: '8080', RCLONE_CONFIG: '/config/rclone/rclone.conf' });
    expect(service.volumes).toEqual(['orquestador-data:/data', 'rclone-config:/config/rclone']);
    expect(Object.keys(compose.volumes)).toEqual(expect.arrayContaining(['orquestador-data', 'rclone-config']));
    expect(service.ports).toEqual(['${ORQUESTADOR_PORT:-8080}:8080']);
    expect(service.restart).toBe('unless-stopped');
    expect(parseInt(service.stop_grace_period, 10)).toBeGreaterThan(30);
  });

  it('has the demo app behind the demo profile on the same network', () => {
    expect(compose.services['demo-app']).toMatchObject({ profiles: ['demo'], build: './examples/sqlite-app', networks: ['backups'] });
  });

  it('has a drill instance of the demo app, of the same image, with a token of its own and no kept data (#18)', () => {
    const drill = compose.services['demo-app-drill'];
    expect(drill).toMatchObject({ profiles: ['demo'], build: './examples/sqlite-app', networks: ['backups'] });
    expect(drill.environment.BACKUP_TOKEN).not.toBe(compose.services['demo-app'].environment.BACKUP_TOKEN);
    expect(drill.volumes).toBeUndefined();
  });

  it('has a cluster profile: PostgreSQL with a volume and a health check, two replicas on it, each with a data folder of its own', () => {
    const { postgres } = compose.services;
    expect(postgres).toMatchObject({ profiles: ['cluster'], volumes: ['postgres-data:/var/lib/postgresql/data'] });
    expect(Number(/^postgres:(\d+)/.exec(postgres.image)![1])).toBeGreaterThanOrEqual(15);
    expect(postgres.healthcheck.test).toContain('pg_isready');
    const replicas = ['replica-1', 'replica-2'].map((name) => compose.services[name]);
    for (const replica of replicas) {
      expect(replica).toMatchObject({ profiles: ['cluster'], build: '.', env_file: [{ path: '.env', required: false }], networks: ['backups'] });
      expect(replica.environment.DATABASE_URL).toMatch(/^postgres:\/\/orquestador:.*@postgres:5432\/orquestador$/);
      expect(replica.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
      for (const name of Object.keys(replica.environment)) expect(ENVIRONMENT_VARIABLES).toContain(name);
    }
    expect(replicas[0].volumes[0]).not.toBe(replicas[1].volumes[0]);
    expect(replicas[0].ports).not.toEqual(replicas[1].ports);
  });

  it('only sets variables the service knows', () => {
    for (const name of Object.keys(compose.services.orquestador.environment)) expect(ENVIRONMENT_VARIABLES).toContain(name);
  });
});
