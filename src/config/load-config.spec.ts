import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseByteSize } from './byte-size';
import { InvalidConfigurationError } from './environment';
import { loadConfig } from './load-config';

const tempDir = () => mkdtempSync(join(tmpdir(), 'orquestador-config-'));

describe('loadConfig', () => {
  it('works with no variables at all: embedded defaults and generated secrets kept 0600 in DATA_DIR', () => {
    const dataDir = tempDir();
    const first = loadConfig({ DATA_DIR: dataDir }, null);
    expect(first.config).toMatchObject({
      port: 8080,
      dataDir,
      databasePath: join(dataDir, 'orquestador.sqlite'),
      adminUser: 'admin',
      rclone: { remote: join(dataDir, 'backups'), bin: 'rclone', configPath: undefined },
      backup: { connectTimeoutMs: 30_000, idleTimeoutMs: 300_000, maxDurationMs: 21_600_000, maxSizeBytes: null, maxConcurrent: 2 },
      scheduler: { timezone: 'UTC', catchUpMissed: false },
      shutdownGraceMs: 30_000,
      logLevel: 'log',
      uiLanguage: null,
      metricsPublic: false,
      notify: { webhookUrl: null, onSuccess: false, publicUrl: null },
      logFormat: 'text',
    });
    expect(first.generatedAdminPassword).toBe(first.config.adminPassword);
    expect(first.config.adminPassword.length).toBeGreaterThanOrEqual(24);
    for (const file of ['admin-password', 'secret-key']) {
      expect(statSync(join(dataDir, file)).mode & 0o777).toBe(0o600);
    }
    expect(readFileSync(join(dataDir, 'admin-password'), 'utf8').trim()).toBe(first.config.adminPassword);

    const second = loadConfig({ DATA_DIR: dataDir }, null);
    expect(second.generatedAdminPassword).toBeUndefined(); // printed once only
    expect(second.config.adminPassword).toBe(first.config.adminPassword);
    expect(second.config.secretKey).toBe(first.config.secretKey);
  });

  it('reads .env under the process environment, which wins', () => {
    const dir = tempDir();
    const envFile = join(dir, '.env');
    writeFileSync(envFile, 'PORT=9000\nADMIN_USER=fromfile\nMAX_BACKUP_SIZE=50GB\nADMIN_PASSWORD=\n');
    const { config } = loadConfig({ DATA_DIR: dir, PORT: '9100', ADMIN_PASSWORD: 'from-environment' }, envFile);
    expect(config.port).toBe(9100);
    expect(config.adminUser).toBe('fromfile');
    expect(config.adminPassword).toBe('from-environment');
    expect(config.backup.maxSizeBytes).toBe(50e9);
  });

  it('names every bad variable with the reason, and never echoes a secret', () => {
    let error: InvalidConfigurationError | undefined;
    try {
      loadConfig({ DATA_DIR: tempDir(), PORT: 'eighty', BACKUP_IDLE_TIMEOUT_S: '0', MAX_BACKUP_SIZE: 'lots',
        SCHEDULER_TIMEZONE: 'Mars/Olympus', LOG_LEVEL: 'loud', ADMIN_PASSWORD: 'short', MAX_CONCURRENT_BACKUPS: '1.5' }, null);
    } catch (caught) {
      error = caught as InvalidConfigurationError;
    }
    expect(error).toBeInstanceOf(InvalidConfigurationError);
    expect(error!.problems.map((problem) => problem.split(':')[0]).sort()).toEqual([
      'ADMIN_PASSWORD', 'BACKUP_IDLE_TIMEOUT_S', 'LOG_LEVEL', 'MAX_BACKUP_SIZE', 'MAX_CONCURRENT_BACKUPS', 'PORT', 'SCHEDULER_TIMEZONE',
    ]);
    expect(error!.message).toContain('PORT: must be an integer number (got "eighty")');
    expect(error!.message).toContain('SCHEDULER_TIMEZONE: must be an IANA time zone');
    expect(error!.message).not.toContain('short');
  });

  it('reads VERIFY_SCHEDULE as a cron expression that must fire, empty meaning off', () => {
    const verifySchedule = (value?: string) => loadConfig({ DATA_DIR: tempDir(), ...(value === undefined ? {} : { VERIFY_SCHEDULE: value }) }, null).config.scheduler.verifySchedule;
    expect(verifySchedule()).toBeNull();
    expect(verifySchedule('  ')).toBeNull();
    expect(verifySchedule('0 4 * * 0')).toBe('0 4 * * 0');
    expect(verifySchedule('*/1 * * * * *')).toBe('*/1 * * * * *');
    expect(() => verifySchedule('every night')).toThrow(/VERIFY_SCHEDULE: must have 5 fields .* \(got "every night"\)/);
    expect(() => verifySchedule('0 0 30 2 *')).toThrow(/VERIFY_SCHEDULE: never fires/);
  });
});

describe('parseByteSize', () => {
  it.each([
    ['1073741824', 1073741824],
    ['50GB', 50e9],
    ['20GiB', 20 * 2 ** 30],
    ['512M', 512 * 2 ** 20],
    ['1.5 kb', 1500],
  ])('%s is %d bytes', (text, bytes) => expect(parseByteSize(text)).toBe(bytes));

  it.each(['', 'lots', '-5', '0', '5 parsecs'])('refuses %j', (text) => expect(parseByteSize(text)).toBeNull());
});
