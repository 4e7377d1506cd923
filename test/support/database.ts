import { DataSource } from 'typeorm';
import type { AppConfig } from '../../src/config/app-config';
import { Dialect } from '../../src/database/dialect';
import type { Orchestrator } from './orchestrator';

/**
 * SQL against a booted orchestrator's own database, through its TypeORM DataSource, so that a test runs the same on
 * SQLite and on PostgreSQL (TEST_DATABASE=postgres). Write it as src/ writes raw queries (see Dialect): `?`
 * placeholders, quoted camelCase identifiers ("createdAt"), and dates as parameters from `date()`/`ago()`, never
 * SQLite's datetime().
 */
export interface TestDatabase {
  readonly postgres: boolean;
  query<T = Record<string, any>>(sql: string, parameters?: unknown[]): Promise<T[]>;
  /** A date as a query stores it in, or compares it with, a date column. */
  date(value: Date): unknown;
  /** The moment `ms` milliseconds ago (negative: ahead), as `date()` gives it. */
  ago(ms: number): unknown;
}

export function databaseOf(orchestrator: Pick<Orchestrator, 'app'>): TestDatabase {
  return over(orchestrator.app.get(DataSource));
}

/** The same for a stopped orchestrator's database (its SQLite file or PostgreSQL database), open while `work` runs. */
export async function withDatabaseOf<T>(config: AppConfig, work: (db: TestDatabase) => Promise<T>): Promise<T> {
  const dataSource = new DataSource(config.databaseUrl ? { type: 'postgres', url: config.databaseUrl } : { type: 'better-sqlite3', database: config.databasePath });
  await dataSource.initialize();
  try {
    return await work(over(dataSource));
  } finally {
    await dataSource.destroy();
  }
}

function over(dataSource: DataSource): TestDatabase {
  const dialect = new Dialect(dataSource);
  return {
    postgres: dialect.postgres,
    query: (sql, parameters = []) => dialect.query(sql, parameters),
    date: (value) => dialect.date(value),
    ago: (ms) => dialect.date(new Date(Date.now() - ms)),
  };
}
