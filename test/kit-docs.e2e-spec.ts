import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { servicePort, start, waitForHttp } from './support/processes';

const EXAMPLE = 'examples/sqlite-app';
const read = (path: string) => readFileSync(path, 'utf8');

describe('the example app outside the repository (#17)', () => {
  it('has a README saying how to run it without Docker', () => {
    const readme = read(join(EXAMPLE, 'README.md'));
    for (const text of ['npm install', 'npm start', 'BACKUP_TOKEN', 'PORT', 'DATA_DIR', 'Authorization: Bearer']) expect(readme).toContain(text);
  });

  it('declares every package server.mjs imports, and runs from a copy with only those installed', async () => {
    const manifest = JSON.parse(read(join(EXAMPLE, 'package.json')));
    const imports = [...read(join(EXAMPLE, 'server.mjs')).matchAll(/^import .* from '([^']+)';$/gm)].map((match) => match[1]);
    const packages = imports.filter((name) => !name.startsWith('node:'));
    expect(packages.length).toBeGreaterThan(0);
    expect(Object.keys(manifest.dependencies).sort()).toEqual(packages.sort());
    expect(imports.every((name) => !name.startsWith('.'))).toBe(true); // nothing from the repository around it

    // What `npm install` in a copy gives it: its own dependencies (linked from here, no network in tests), nothing else.
    const copy = mkdtempSync(join(tmpdir(), 'notes-copy-'));
    try {
      cpSync(EXAMPLE, copy, { recursive: true });
      mkdirSync(join(copy, 'node_modules'));
      for (const name of packages) symlinkSync(join(process.cwd(), 'node_modules', name), join(copy, 'node_modules', name));
      const port = await servicePort();
      const app = start(process.execPath, ['server.mjs'], { cwd: copy, env: { PATH: process.env.PATH, BACKUP_TOKEN: 'copy-token', PORT: String(port), DATA_DIR: join(copy, 'data') } });
      try {
        await waitForHttp(`http://127.0.0.1:${port}/notes`);
        const capabilities = await fetch(`http://127.0.0.1:${port}/backup/capabilities`, { headers: { Authorization: 'Bearer copy-token' } });
        expect(await capabilities.json()).toMatchObject({ versions: ['v1'], type: 'sqlite' });
      } finally {
        await app.stop();
      }
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});

describe('README and .env.example (#17)', () => {
  it('the Demo shows how to read a generated admin password, not only $ADMIN_PASSWORD', () => {
    const readme = read('README.md');
    const demo = readme.slice(readme.indexOf('### Demo'), readme.indexOf('## For integrators'));
    expect(demo).toContain('/data/admin-password');
    expect(demo).toContain('cat data/admin-password');
  });

  it('documents every variable docker-compose.yml reads', () => {
    const variables = [...read('docker-compose.yml').matchAll(/\$\{(\w+)/g)].map((match) => match[1]);
    expect(variables).toContain('DEMO_APP_TOKEN');
    for (const file of ['README.md', '.env.example']) for (const variable of variables) expect(read(file), `${variable} in ${file}`).toContain(variable);
  });

  it('.env.example no longer promises admin pages for later', () => {
    expect(read('.env.example')).not.toMatch(/later, the admin pages/);
  });
});
