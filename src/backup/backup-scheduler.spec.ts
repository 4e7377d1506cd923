import { SchedulerRegistry } from '@nestjs/schedule';
import { afterEach, describe, expect, it } from 'vitest';
import type { AppEntity } from '../apps/app.entity';
import type { AppChange, AppsService } from '../apps/apps.service';
import type { AppConfig } from '../config/app-config';
import type { BackupRunner } from './backup-runner.service';
import { BackupScheduler } from './backup-scheduler.service';
import type { RunsService } from './runs.service';

describe('BackupScheduler', () => {
  const registry = new SchedulerRegistry();
  afterEach(() => {
    for (const name of registry.getCronJobs().keys()) registry.deleteCronJob(name);
  });

  it('records a failed run when a firing cannot start, instead of failing silently', async () => {
    const app = { id: 7, name: 'orphan', schedule: '* * * * * *', timezone: null, enabled: true } as AppEntity;
    let listener: ((change: AppChange) => void) | undefined;
    const apps = { onChange: (l: (change: AppChange) => void) => (listener = l) } as unknown as AppsService;
    const runner = { start: async () => Promise.reject(new Error('no app with id 7')) } as unknown as BackupRunner;
    const recorded: string[] = [];
    const runs = { failToStart: async (a: AppEntity, trigger: string, reason: string) => recorded.push(`${a.name} ${trigger} ${reason}`) };
    const config = { scheduler: { timezone: 'UTC', catchUpMissed: false } } as AppConfig;
    new BackupScheduler(config, registry, apps, runner, runs as unknown as RunsService);

    listener!({ kind: 'saved', app });
    expect(registry.doesExist('cron', 'backup:7')).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 1300));
    expect(recorded[0]).toBe('orphan schedule no app with id 7');

    listener!({ kind: 'removed', app });
    expect(registry.doesExist('cron', 'backup:7')).toBe(false);
  });
});
