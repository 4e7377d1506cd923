import { createHmac } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import type { AppConfig } from '../config/app-config';
import { postgresOptions } from './database.options';

/** Any constant: replicas booting together wait for each other's migrations on it. */
const MIGRATION_LOCK = 7_151_500;
const KEY_CHECK = 'secret-key-check';

/** A replica whose SECRET_KEY is not the one the shared database was written with: it could read no token. */
export class SecretsDifferError extends Error {
  constructor() {
    super(
      'SECRET_KEY: differs from the key the other replicas of this database use (the key check stored in the database does not match). ' +
        'Every replica must have the same SECRET_KEY (and ADMIN_USER / ADMIN_PASSWORD): copy it from a running replica.',
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
export async function preparePostgres(config: Pick<AppConfig, 'databaseUrl' | 'secretKey'>): Promise<void> {
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
  } finally {
    await lock.end();
  }
}
