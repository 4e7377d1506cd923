import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/** Runs the built service (`npm test` builds first) as `npm run start:prod` would. */
function runBuiltService(env: Record<string, string>, timeoutMs = 20_000): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['dist/main.js'], { env: { PATH: process.env.PATH, ...env } });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('booting the built service', () => {
  it('exits non-zero before listening and names each bad variable', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'orquestador-boot-'));
    const { code, output } = await runBuiltService({ DATA_DIR: dataDir, PORT: '70000', LOG_LEVEL: 'chatty', BACKUP_MAX_DURATION_S: 'x' });
    expect(code).toBe(1);
    expect(output).toContain('Invalid configuration');
    expect(output).toContain('PORT: must not be greater than 65535 (got "70000")');
    expect(output).toContain('LOG_LEVEL: must be one of fatal, error, warn, log, debug, verbose (got "chatty")');
    expect(output).toContain('BACKUP_MAX_DURATION_S: must be an integer number');
    expect(output).not.toContain('listening');
    expect(existsSync(join(dataDir, 'orquestador.sqlite'))).toBe(false);
  });

  it('starts with only DATA_DIR and PORT, prints the generated admin password once, and answers', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'orquestador-boot-'));
    const port = String(20000 + Math.floor(Math.random() * 20000));
    const child = spawn(process.execPath, ['dist/main.js'], { env: { PATH: process.env.PATH, DATA_DIR: dataDir, PORT: port } });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    try {
      const deadline = Date.now() + 20_000;
      while (!output.includes('listening') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const password = /Generated the admin password for "admin": (\S+)/.exec(output)?.[1];
      expect(password).toBeDefined();
      const health = await fetch(`http://127.0.0.1:${port}/api/health`);
      expect(health.status).toBe(200);
      const apps = await fetch(`http://127.0.0.1:${port}/api/apps`, {
        headers: { Authorization: `Basic ${Buffer.from(`admin:${password}`).toString('base64')}` },
      });
      expect(apps.status).toBe(200);
      expect(await apps.json()).toEqual([]);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('close', resolve));
    }
    const again = await runBuiltService({ DATA_DIR: dataDir, PORT: port, LOG_LEVEL: 'log' }, 4000);
    expect(again.output).toContain('listening');
    expect(again.output).not.toContain('Generated the admin password');
  });
});
