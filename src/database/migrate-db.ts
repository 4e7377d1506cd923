import { DataSource, EntityManager, EntityMetadata, Not } from 'typeorm';
import { DEFAULT_DESTINATION_ID, DestinationEntity } from '../destinations/destination.entity';
import { loadConfig } from '../config/load-config';
import { InvalidConfigurationError } from '../config/environment';
import { DataDirInUseError, DataDirLock } from './data-dir-lock';
import { ENTITIES, MIGRATIONS, postgresOptions } from './database.options';
import { keyCheckOf, preparePostgres, SecretsDifferError } from './postgres-setup';

/** Rows read and written at a time: a big history moves in steps, with little memory. */
const BATCH = 500;

export interface TableCount {
  table: string;
  source: number;
  target: number;
}

class MigrationRefused extends Error {}

/** What a new database's migrations write themselves (the built-in `default` destination): not data of its own. */
const SEEDED_DESTINATION = { id: DEFAULT_DESTINATION_ID };

function ownRows(database: DataSource, entity: (typeof ENTITIES)[number]): Promise<number> {
  const repository = database.getRepository<object>(entity);
  return entity === DestinationEntity ? repository.countBy({ id: Not(SEEDED_DESTINATION.id) }) : repository.count();
}

/**
 * Copies every table of the service (apps with their sealed tokens, runs, users, sessions, API keys, audit log)
 * from one database into an empty one, ids included, in one transaction of the target, then compares the counts.
 * Rows go through the entities, so each database stores dates and booleans its own way.
 */
export async function copyDatabase(source: DataSource, target: DataSource): Promise<TableCount[]> {
  for (const entity of ENTITIES) {
    const count = await ownRows(target, entity);
    if (count > 0) {
      throw new MigrationRefused(`the target database is not empty (${target.getMetadata(entity).tableName} has ${count} rows): give an empty database`);
    }
  }
  await target.transaction(async (manager) => {
    // The source has its own `default`, with the same id: it replaces the one the target's migrations made.
    await manager.delete(DestinationEntity, SEEDED_DESTINATION);
    for (const entity of ENTITIES) {
      const metadata = source.getMetadata(entity);
      for (let after: unknown = null; ;) {
        const query = source.getRepository(entity).createQueryBuilder('row');
        // Columns never loaded by default (a run's sealed passphrase) are copied too.
        for (const column of metadata.columns.filter((c) => c.isSelect === false)) query.addSelect(`row.${column.propertyName}`);
        const key = primaryKeyOf(metadata);
        if (after !== null) query.where(`row.${key} > :after`, { after });
        const rows = await query.orderBy(`row.${key}`, 'ASC').take(BATCH).getMany();
        if (rows.length === 0) break;
        await insertWithIds(manager, target.getMetadata(entity), rows);
        after = (rows[rows.length - 1] as unknown as Record<string, unknown>)[key];
      }
    }
    // Ids were copied: PostgreSQL's sequences must continue after them (SQLite's AUTOINCREMENT follows by itself).
    if (target.options.type === 'postgres') {
      for (const entity of ENTITIES) {
        const { tableName, primaryColumns } = target.getMetadata(entity);
        if (primaryColumns[0].generationStrategy !== 'increment') continue;
        await manager.query(`SELECT setval(pg_get_serial_sequence('"${tableName}"', 'id'), COALESCE((SELECT MAX(id) FROM "${tableName}"), 0) + 1, false)`);
      }
    }
  });
  const counts: TableCount[] = [];
  for (const entity of ENTITIES) {
    counts.push({ table: source.getMetadata(entity).tableName, source: await source.getRepository(entity).count(), target: await target.getRepository(entity).count() });
  }
  return counts;
}

/**
 * Inserts rows with their ids. TypeORM's insert leaves a generated id out on PostgreSQL (the sequence would number
 * the rows afresh, and a history with gaps, deleted apps for one, would point at the wrong rows): every column is
 * written by hand there, each value converted by the driver as TypeORM would.
 */
async function insertWithIds(manager: EntityManager, metadata: EntityMetadata, rows: object[]): Promise<void> {
  if (manager.connection.options.type !== 'postgres') {
    await manager.createQueryBuilder().insert().into(metadata.target).values(rows as never[]).updateEntity(false).execute();
    return;
  }
  const { columns } = metadata;
  const parameters: unknown[] = [];
  const tuples = rows.map((row) => `(${columns.map((column) => {
    parameters.push(manager.connection.driver.preparePersistentValue(column.getEntityValue(row), column));
    return `$${parameters.length}`;
  }).join(', ')})`);
  await manager.query(`INSERT INTO "${metadata.tableName}" (${columns.map((column) => `"${column.databaseName}"`).join(', ')}) VALUES ${tuples.join(', ')}`, parameters);
}

function primaryKeyOf(metadata: EntityMetadata): string {
  return metadata.primaryColumns[0].propertyName;
}

function sqliteSource(path: string): DataSource {
  return new DataSource({ type: 'better-sqlite3', database: path, entities: ENTITIES, migrations: MIGRATIONS, migrationsRun: true });
}

function usage(): never {
  throw new MigrationRefused(
    'usage: npm run migrate-db -- --to postgres://user:password@host:5432/db   (this install\'s SQLite database into an empty PostgreSQL one)\n' +
      '       npm run migrate-db -- --from postgres://… --to sqlite:/path/new.sqlite   (the way back, into a new SQLite file)',
  );
}

/**
 * `npm run migrate-db -- --to postgres://…`: moves this install (DATA_DIR / DATABASE_PATH, read like the service
 * reads them) into an empty PostgreSQL database, with the service stopped (DATA_DIR's lock is taken). The way back:
 * `--from postgres://… --to sqlite:/path/file.sqlite`, with every replica stopped.
 */
export async function migrateDb(args: string[], log: (line: string) => void): Promise<void> {
  const option = (name: string) => {
    const index = args.indexOf(name);
    return index >= 0 ? args[index + 1] : undefined;
  };
  const to = option('--to');
  const from = option('--from');
  if (!to) usage();
  const { config } = loadConfig();
  let source: DataSource;
  let target: DataSource;
  let lock: DataDirLock | null = null;
  if (/^postgres(ql)?:\/\//.test(to) && !from) {
    // The service must not write while its history is copied.
    lock = DataDirLock.acquire(config.dataDir);
    await preparePostgres({ databaseUrl: to, secretKey: config.secretKey });
    source = sqliteSource(config.databasePath);
    target = new DataSource(postgresOptions(to));
    log(`copying ${config.databasePath} into ${redacted(to)}`);
  } else if (from && /^postgres(ql)?:\/\//.test(from) && to.startsWith('sqlite:')) {
    const path = to.slice('sqlite:'.length);
    source = new DataSource(postgresOptions(from));
    await source.initialize();
    const [check] = await source.query(`SELECT value FROM cluster_settings WHERE key = 'secret-key-check'`);
    await source.destroy();
    if (check && check.value !== keyCheckOf(config.secretKey)) {
      throw new MigrationRefused('SECRET_KEY: differs from the key of the replicas of this database; the copied tokens would be unreadable. Use their SECRET_KEY.');
    }
    source = new DataSource(postgresOptions(from));
    target = sqliteSource(path);
    log(`copying ${redacted(from)} into ${path}`);
  } else {
    usage();
  }
  try {
    await source.initialize();
    await target.initialize();
    const counts = await copyDatabase(source, target);
    for (const { table, source: read, target: written } of counts) log(`  ${table}: ${read} -> ${written}`);
    const wrong = counts.filter((count) => count.source !== count.target);
    if (wrong.length > 0) throw new MigrationRefused(`counts differ after the copy: ${wrong.map((c) => c.table).join(', ')}`);
    log('done: the counts match');
  } finally {
    if (source.isInitialized) await source.destroy();
    if (target.isInitialized) await target.destroy();
    lock?.release();
  }
}

function redacted(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

if (require.main === module) {
  migrateDb(process.argv.slice(2), (line) => console.log(line)).then(
    () => process.exit(0),
    (error: Error) => {
      const known = [MigrationRefused, DataDirInUseError, InvalidConfigurationError, SecretsDifferError].some((kind) => error instanceof kind);
      console.error(`migrate-db: ${known ? error.message : error.stack}`);
      process.exit(1);
    },
  );
}
