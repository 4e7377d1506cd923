import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connectionString, cryptFolder, forChild, obscure, plaintextSize, redactPasswords } from './rclone-crypt';

const rclone = (args: string[], env: Record<string, string> = {}) =>
  execFileSync('rclone', args, { encoding: 'utf8', env: { ...process.env, ...env }, input: 'a backup' });

describe('rclone crypt helpers (real rclone)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'orquestador-crypt-spec-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('obscures a passphrase exactly as rclone reveals it, quotes, commas and all', () => {
    for (const passphrase of ['simple', "it's a \"pass\", with: colons ñ", ' spaces around ', 'x'.repeat(300)]) {
      // '--': an obscured text may start with "-", which rclone would take for a flag.
      expect(rclone(['reveal', '--', obscure(passphrase)])).toBe(`${passphrase}\n`);
    }
  });

  it('names a destination holding quotes, commas and colons as one value, in the inline form and in the environment', () => {
    const folder = join(dir, "we,ird:name's dir");
    mkdirSync(folder);
    const crypt = cryptFolder(folder, 'passphrase');
    rclone(['rcat', `${connectionString(crypt)}inline.db`]);
    const { arg, env } = forChild({ crypt, name: 'env.db' });
    rclone(['rcat', arg], env);
    expect(readdirSync(folder).sort()).toEqual(['env.db.bin', 'inline.db.bin']);
    // A destination that is itself a connection string with quoted values.
    const nested = cryptFolder(`:local,case_insensitive='false':${folder}`, 'passphrase');
    expect(JSON.parse(rclone(['lsjson', connectionString(nested)])).map((entry: { Name: string }) => entry.Name).sort()).toEqual(['env.db', 'inline.db']);
  });

  it('hides the password of every connection string rclone quotes back', () => {
    const crypt = cryptFolder('/x', 'passphrase');
    const message = `Failed to create file system for "${connectionString(crypt)}": failed, password2="a""b",x=1`;
    const redacted = redactPasswords(message);
    expect(redacted).not.toContain(crypt.password);
    expect(redacted).toBe(`Failed to create file system for ":crypt,remote='/x',password=***,filename_encryption=off,directory_name_encryption=false:": failed, password2=***,x=1`);
  });

  it("computes the plaintext size of what crypt stores as crypt's own listing does", () => {
    const folder = join(dir, 'sizes');
    mkdirSync(folder);
    const crypt = cryptFolder(folder, 'passphrase');
    const sizes = [0, 1, 65535, 65536, 65537, 3 * 65536 + 5, 200 * 1024 + 3];
    const { arg, env } = forChild({ crypt, name: '' });
    for (const size of sizes) {
      writeFileSync(join(dir, 'plain'), Buffer.alloc(size, 7));
      rclone(['copyto', join(dir, 'plain'), `${arg}${size}`], env);
    }
    const stored = JSON.parse(rclone(['lsjson', folder])) as { Name: string; Size: number }[];
    const listed = JSON.parse(rclone(['lsjson', arg], env)) as { Name: string; Size: number }[];
    for (const size of sizes) {
      const raw = stored.find((entry) => entry.Name === `${size}.bin`)!.Size;
      expect(plaintextSize(raw)).toBe(size);
      expect(listed.find((entry) => entry.Name === String(size))!.Size).toBe(size);
    }
    expect(plaintextSize(31)).toBeNull();
    expect(plaintextSize(32 + 65536 + 16 + 10)).toBeNull(); // a block of 10 bytes cannot even hold its tag
  });
});
