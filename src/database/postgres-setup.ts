import { createHmac } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import type { AppConfig } from '../config/app-config';
import { postgresOptions } from './database.options';

/** Any constant: replicas booting together wait for each other's migrations on it. */
const MIGRATION_LOCK = 7_151_500;
const KEY_CHECK = 'secret-key-check';
const ADMIN_CHECK = 'admin-check';

/** A replica whose SECRET_KEY is not the one the shared database was written with: it could read no token. */
export class SecretsDifferError extends Error {
  constructor() {
    super(
      'SECRET_KEY: differs from the key the other replicas of this database use (the key check stored in the database does not match). ' +
        'Every replica must have the same SECRET_KEY (and ADMIN_USER / ADMIN_PASSWORD): copy it from a running replica.',
    );
  }
}

/** A live replica with other admin credentials: the env admin would get in on some replicas and not on others. */
export class AdminCredentialsDifferError extends Error {
  constructor() {
    super(
      'ADMIN_USER, ADMIN_PASSWORD: differ from those of the running replicas of this database. Every replica must have the same ' +
        '(set them in the one .env they read). To change them, stop every replica, then start them with the new ones.',
    );
  }
}

/** What a key leaves in the database: its HMAC of a fixed text, from which the key cannot be recovered. */
export function keyCheckOf(secretKey: string): string {
  return createHmac('sha256', secretKey).update('app-orquestador key check').digest('hex');
}

/**
 * Before the service boots in cluster mode: brings the schema up to date, once even when several replicas start
 * together (TypeORM takes no lock of its own on PostgreSQL), then checks SECRET_KEY against the database's key
 * check, which the first replica (or migrate-db) writes. Throws SecretsDifferError.
 */
export async function preparePostgres(config: Pick<AppConfig, 'databaseUrl' | 'secretKey'> & Partial<Pick<AppConfig, 'adminUser' | 'adminPassword' | 'runLeaseMs'>>): Promise<void> {
  const url = config.databaseUrl!;
  const lock = new Client({ connectionString: url });
  await lock.connect();
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    const dataSource = new DataSource({ ...postgresOptions(url), migrationsRun: false, extra: { max: 1 } });
    await dataSource.initialize();
    try {
      await dataSource.runMigrations({ transaction: 'each' });
    } finally {
      await dataSource.destroy();
    }
    const check = keyCheckOf(config.secretKey);
    await lock.query('INSERT INTO "cluster_settings" ("key", "value") VALUES ($1, $2) ON CONFLICT ("key") DO NOTHING', [KEY_CHECK, check]);
    const { rows } = await lock.query<{ value: string }>('SELECT "value" FROM "cluster_settings" WHERE "key" = $1', [KEY_CHECK]);
    if (rows[0].value !== check) throw new SecretsDifferError();
    if (config.adminUser !== undefined && config.adminPassword !== undefined) await checkAdmin(lock, config as Required<typeof config>);
  } finally {
    await lock.end();
  }
}

/**
 * The env admin's credentials, as an HMAC under SECRET_KEY (neither is recoverable from it). Different ones are
 * refused while a replica that has the stored ones runs; with none running they replace them: that is how they change.
 */
async function checkAdmin(client: Client, config: Pick<AppConfig, 'secretKey' | 'adminUser' | 'adminPassword' | 'runLeaseMs'>): Promise<void> {
  const check = createHmac('sha256', config.secretKey).update(`admin credentials\0${config.adminUser}\0${config.adminPassword}`).digest('hex');
  const { rows } = await client.query<{ value: string }>('SELECT "value" FROM "cluster_settings" WHERE "key" = $1', [ADMIN_CHECK]);
  if (rows[0]?.value === check) return;
  if (rows[0]) {
    const live = await client.query(`SELECT 1 FROM "replicas" WHERE "heartbeatAt" > now() - make_interval(secs => $1)`, [config.runLeaseMs / 2000]);
    if (live.rows.length > 0) throw new AdminCredentialsDifferError();
  }
  await client.query(
    'INSERT INTO "cluster_settings" ("key", "value") VALUES ($1, $2) ON CONFLICT ("key") DO UPDATE SET "value" = excluded."value"',
    [ADMIN_CHECK, check],
  );
}
