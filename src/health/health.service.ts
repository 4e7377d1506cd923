import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { RcloneAdapter } from '../storage/rclone.adapter';

export type CheckResult = { status: 'ok'; version?: string } | { status: 'error'; error: string };

export interface HealthReport {
  status: 'ok' | 'degraded' | 'error';
  checks: { database: CheckResult; rclone: CheckResult };
}

@Injectable()
export class HealthService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly rclone: RcloneAdapter,
  ) {}

  /** Without the database nothing works (error); without rclone runs fail but the service answers (degraded). */
  async report(): Promise<HealthReport> {
    const [database, rclone] = await Promise.all([
      probe(async () => {
        await this.dataSource.query('SELECT 1');
        return {};
      }),
      probe(async () => ({ version: await this.rclone.version() })),
    ]);
    const status = database.status === 'error' ? 'error' : rclone.status === 'error' ? 'degraded' : 'ok';
    return { status, checks: { database, rclone } };
  }
}

async function probe(check: () => Promise<{ version?: string }>): Promise<CheckResult> {
  try {
    return { status: 'ok', ...(await check()) };
  } catch (error) {
    return { status: 'error', error: (error as Error).message };
  }
}
