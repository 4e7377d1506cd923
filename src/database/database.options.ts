import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { TypeOrmModuleOptions } from '@nestjs/typeorm';
import { types as pgTypes } from 'pg';
import { AppEntity } from '../apps/app.entity';
import { RunEntity } from '../backup/run.entity';
import { AppConfig } from '../config/app-config';
import { Initial1764300000000 } from './migrations/1764300000000-initial';
import { AppTimezone1764400000000 } from './migrations/1764400000000-app-timezone';
import { AppPingUrl1764500000000 } from './migrations/1764500000000-app-ping-url';
import { RunKind1764600000000 } from './migrations/1764600000000-run-kind';
import { HealthProbe1764700000000 } from './migrations/1764700000000-health-probe';
import { RunHistoryIndexes1764800000000 } from './migrations/1764800000000-run-history-indexes';
import { RunListIndexes1764910000000 } from './migrations/1764910000000-run-list-indexes';
import { AppEncryption1765000000000 } from './migrations/1765000000000-app-encryption';
import { AppRetentionVerify1765100000000 } from './migrations/1765100000000-app-retention-verify';
import { Sessions1765200000000 } from './migrations/1765200000000-sessions';
import { Users1765200000001 } from './migrations/1765200000001-users';
import { ApiKeys1765200000002 } from './migrations/1765200000002-api-keys';
import { AuditLog1765200000003 } from './migrations/1765200000003-audit-log';
import { Destinations1765300000001 } from './migrations/1765300000001-destinations';
import { AppDestinationEntity, DestinationEntity } from '../destinations/destination.entity';
import { RunDestinationEntity } from '../backup/run-destination.entity';
import { ContractExtensions1765400000000 } from './migrations/1765400000000-contract-extensions';
import { AuditEntryEntity } from '../audit/audit-entry.entity';
import { ApiKeyEntity } from '../auth/api-key.entity';
import { UserEntity } from '../users/user.entity';
import { SessionEntity } from '../auth/session.entity';
import { PgInitial1765500000000 } from './migrations-postgres/1765500000000-initial';
import { PgCluster1765500000001 } from './migrations-postgres/1765500000001-cluster';
import { PgDestinations1765500000002 } from './migrations-postgres/1765500000002-destinations';
import { PgContractExtensions1765500000003 } from './migrations-postgres/1765500000003-contract-extensions';
import { PgAppZone1765600000001 } from './migrations-postgres/1765600000001-app-zone';
import { AppZone1765600000000 } from './migrations/1765600000000-app-zone';
import { NewestCopy1765700000000 } from './migrations/1765700000000-newest-copy';
import { PgNewestCopy1765700000001 } from './migrations-postgres/1765700000001-newest-copy';

export const ENTITIES = [AppEntity, RunEntity, SessionEntity, UserEntity, ApiKeyEntity, AuditEntryEntity, DestinationEntity, AppDestinationEntity, RunDestinationEntity];
export const MIGRATIONS = [
  Initial1764300000000, AppTimezone1764400000000, AppPingUrl1764500000000, RunKind1764600000000, HealthProbe1764700000000,
  RunHistoryIndexes1764800000000, RunListIndexes1764910000000, AppEncryption1765000000000, AppRetentionVerify1765100000000,
  Sessions1765200000000, Users1765200000001, ApiKeys1765200000002, AuditLog1765200000003, Destinations1765300000001,
  ContractExtensions1765400000000, AppZone1765600000000, NewestCopy1765700000000,
];

/** PostgreSQL's own schema history (cluster mode): the same entities, a migration of its own for each SQLite one. */
export const POSTGRES_MIGRATIONS = [PgInitial1765500000000, PgCluster1765500000001, PgDestinations1765500000002, PgContractExtensions1765500000003, PgAppZone1765600000001,
  PgNewestCopy1765700000001,
];

/**
 * SQLite through better-sqlite3, or PostgreSQL with DATABASE_URL; the schema is owned by the migrations, which run
 * at every start (on PostgreSQL under TypeORM's lock, so replicas starting together migrate once).
 */
export function databaseOptions(config: AppConfig): TypeOrmModuleOptions {
  if (config.databaseUrl) return postgresOptions(config.databaseUrl);
  mkdirSync(dirname(config.databasePath), { recursive: true });
  return {
    type: 'better-sqlite3',
    database: config.databasePath,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsRun: true,
    synchronize: false,
    // WAL lets the pages read run history while a backup writes its progress.
    prepareDatabase: (db: { pragma(statement: string): unknown }) => {
      // Lets history pruning give space back (PRAGMA incremental_vacuum). It takes effect on a new
      // database only; an older file reuses the freed pages instead, so it stops growing.
      db.pragma('auto_vacuum = INCREMENTAL');
      db.pragma('journal_mode = WAL');
      db.pragma('busy_timeout = 5000');
    },
  };
}

export function postgresOptions(url: string): TypeOrmModuleOptions & { type: 'postgres' } {
  // Byte counts are bigint and COUNT(*) is too: both stay far below 2^53, and the code reads numbers.
  pgTypes.setTypeParser(pgTypes.builtins.INT8, Number);
  return {
    type: 'postgres',
    url,
    entities: ENTITIES,
    migrations: POSTGRES_MIGRATIONS,
    // preparePostgres has run them, under a lock, before the service boots.
    migrationsRun: false,
    synchronize: false,
    extra: { max: 10 },
  };
}
