import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/** The PostgreSQL the tests use: .ci/run starts it on 127.0.0.1:5432 (trust auth). */
export const POSTGRES_SERVER = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Whether the e2e suite runs on PostgreSQL (TEST_DATABASE=postgres) instead of SQLite files. */
export const onPostgres = process.env.TEST_DATABASE === 'postgres';

export interface ScratchDatabase {
  url: string;
  /** Runs SQL in it (for assertions a test cannot make through the API). */
  query<T = Record<string, unknown>>(sql: string, parameters?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

async function admin<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: POSTGRES_SERVER });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A new empty database with a random name, dropped (with whatever still connects to it) by drop(). */
export async function scratchDatabase(): Promise<ScratchDatabase> {
  const name = `orq_${randomBytes(6).toString('hex')}`;
  await admin((client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(POSTGRES_SERVER);
  url.pathname = `/${name}`;
  let client: Client | null = null;
  return {
    url: url.toString(),
    async query<T>(sql: string, parameters: unknown[] = []) {
      if (!client) {
        client = new Client({ connectionString: url.toString() });
        await client.connect();
      }
      return (await client.query(sql, parameters)).rows as T[];
    },
    async drop() {
      await client?.end();
      await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

/** TEST_DATABASE=postgres: the scratch database of each data folder, so that a test that restarts the service on its folder finds its data again. */
const byDataDir = new Map<string, ScratchDatabase>();

export async function scratchDatabaseFor(dataDir: string): Promise<ScratchDatabase> {
  let scratch = byDataDir.get(dataDir);
  if (!scratch) {
    scratch = await scratchDatabase();
    byDataDir.set(dataDir, scratch);
  }
  return scratch;
}

/** Drops them all, after the test file (see test/support/setup.ts). */
export async function dropScratchDatabasesOfDataDirs(): Promise<void> {
  await Promise.all([...byDataDir.values()].map((scratch) => scratch.drop()));
  byDataDir.clear();
}
