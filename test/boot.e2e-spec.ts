import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run, servicePort, start, waitForHttp } from './support/processes';

/** The built service (`npm test` builds first), as `npm run start:prod` runs it. */
const service = (env: Record<string, string>) => ({ args: ['dist/main.js'], options: { env: { PATH: process.env.PATH, ...env } } });
const tempDataDir = () => mkdtempSync(join(tmpdir(), 'orquestador-boot-'));

describe('booting the built service', () => {
  it('exits non-zero before listening and names each bad variable', async () => {
    const dataDir = tempDataDir();
    const { args, options } = service({ DATA_DIR: dataDir, PORT: '70000', LOG_LEVEL: 'chatty', BACKUP_MAX_DURATION_S: 'x' });
    const { code, output } = await run(process.execPath, args, options);
    expect(code).toBe(1);
    expect(output).toContain('Invalid configuration');
    expect(output).toContain('PORT: must not be greater than 65535 (got "70000")');
    expect(output).toContain('LOG_LEVEL: must be one of fatal, error, warn, log, debug, verbose (got "chatty")');
    expect(output).toContain('BACKUP_MAX_DURATION_S: must be an integer number');
    expect(output).not.toContain('listening');
    expect(existsSync(join(dataDir, 'orquestador.sqlite'))).toBe(false);
  });

  it('starts with only DATA_DIR and PORT, prints the generated admin password once, and answers', async () => {
    const dataDir = tempDataDir();
    const port = String(await servicePort());
    const { args, options } = service({ DATA_DIR: dataDir, PORT: port });
    const first = start(process.execPath, args, options);
    try {
      await waitForHttp(`http://127.0.0.1:${port}/api/health`);
      const password = /Generated the admin password for "admin": (\S+)/.exec(first.output())?.[1];
      expect(password).toBeDefined();
      const apps = await fetch(`http://127.0.0.1:${port}/api/apps`, {
        headers: { Authorization: `Basic ${Buffer.from(`admin:${password}`).toString('base64')}` },
      });
      expect(apps.status).toBe(200);
      expect(await apps.json()).toEqual([]);
    } finally {
      await first.stop();
    }
    const again = start(process.execPath, args, options);
    try {
      await waitForHttp(`http://127.0.0.1:${port}/api/health`);
      expect(again.output()).toContain('listening');
      expect(again.output()).not.toContain('Generated the admin password');
    } finally {
      await again.stop();
    }
  });
});
