import type { DataSource } from 'typeorm';
import { fromSqlite, toSqlite } from './sqlite-dates';

/**
 * The few places where SQLite and PostgreSQL speak differently, in one class: raw queries are written once,
 * with `?` placeholders and quoted camelCase identifiers (both databases accept those), and ask this for the rest.
 */
export class Dialect {
  readonly postgres: boolean;

  constructor(private readonly dataSource: DataSource) {
    this.postgres = dataSource.options.type === 'postgres';
  }

  /** Runs a raw query written with `?` placeholders (PostgreSQL numbers them: $1, $2...). */
  query<T = unknown>(sql: string, parameters: unknown[] = []): Promise<T> {
    return this.dataSource.query(this.postgres ? numbered(sql) : sql, parameters) as Promise<T>;
  }

  /** A table of ids from one parameter (see `idList`), as rows with a column `id`. */
  get idsTable(): string {
    return this.postgres ? 'SELECT unnest(CAST(? AS integer[])) AS id' : 'SELECT value AS id FROM json_each(?)';
  }

  /** The same for a query builder's named parameter. */
  idsTableNamed(name: string): string {
    return this.postgres ? `SELECT unnest(CAST(:${name} AS integer[])) AS id` : `SELECT value AS id FROM json_each(:${name})`;
  }

  /** The parameter `idsTable` reads. */
  idList(ids: number[]): unknown {
    return this.postgres ? ids : JSON.stringify(ids);
  }

  /** A date as a raw query compares it with a date column. */
  date(value: Date): unknown {
    return this.postgres ? value : toSqlite(value);
  }

  /** A date column as a raw query returns it. */
  dateOf(value: string | Date): Date;
  dateOf(value: string | Date | null): Date | null;
  dateOf(value: string | Date | null): Date | null {
    if (value === null) return null;
    return value instanceof Date ? value : fromSqlite(value);
  }

  /** LIKE that ignores case (SQLite's LIKE already does, for ASCII). */
  get likeIgnoringCase(): string {
    return this.postgres ? 'ILIKE' : 'LIKE';
  }

  /** An upper bound above every id: PostgreSQL's integer ids stop at 2^31 - 1 (and refuse a larger parameter). */
  get maxId(): number {
    return this.postgres ? 2_147_483_647 : Number.MAX_SAFE_INTEGER;
  }
}

/** `?` to `$1`, `$2`... outside string literals and quoted identifiers. */
function numbered(sql: string): string {
  let index = 0;
  return sql.replace(/'(?:[^']|'')*'|"[^"]*"|\?/g, (match) => (match === '?' ? `$${++index}` : match));
}

/** Whether a failed write broke the named unique constraint or index (SQLite names its columns, PostgreSQL the constraint). */
export function violatesUnique(error: unknown, sqliteColumns: string | null, postgresConstraint: string): boolean {
  const failure = error as { code?: string; constraint?: string; driverError?: { code?: string; constraint?: string }; message?: string };
  const driver = failure?.driverError ?? failure;
  if (driver?.code === '23505') return driver.constraint === postgresConstraint;
  return sqliteColumns !== null && typeof failure?.message === 'string' && failure.message.includes(`UNIQUE constraint failed: ${sqliteColumns}`);
}
