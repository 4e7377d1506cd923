import { describe, expect, it } from 'vitest';
import type { RunEntity } from '../backup/run.entity';
import type { RunEvent, RunsService } from '../backup/runs.service';
import type { AppConfig } from '../config/app-config';
import { MetricsService } from './metrics.service';

const embedded = { databaseUrl: null } as AppConfig;

describe('MetricsService', () => {
  it('rebuilds the state gauges from the history after the boot, without undoing a backup or a verification that ended meanwhile', async () => {
    let listener: ((event: RunEvent) => void) | undefined;
    let answer: (runs: Pick<RunEntity, 'appName' | 'finishedAt' | 'bytes'>[]) => void = () => undefined;
    let answerVerified: (runs: Map<number, Pick<RunEntity, 'appName' | 'finishedAt'>>) => void = () => undefined;
    const runs = {
      onEvent: (l: (event: RunEvent) => void) => (listener = l),
      latestSuccessfulBackups: () => new Promise((resolve) => (answer = resolve)),
      latestSuccessfulVerifications: () => new Promise((resolve) => (answerVerified = resolve)),
      latestSuccessfulDrills: async () => new Map(),
      latestSuccessfulCopies: async () => [],
    } as unknown as RunsService;
    const metrics = new MetricsService(runs, embedded);
    metrics.onModuleInit();

    // A backup of "shop" ends before the history read at boot arrives: the older row must not win.
    const at = (iso: string) => new Date(iso);
    listener!({ kind: 'finished', run: { id: 9, appName: 'shop', kind: 'backup', status: 'succeeded', trigger: 'manual', bytes: 200, startedAt: at('2026-11-29T01:00:00Z'), finishedAt: at('2026-11-29T01:00:10Z') } as RunEntity });
    listener!({ kind: 'finished', run: { id: 10, appName: 'shop', kind: 'verify', status: 'succeeded', trigger: 'schedule', bytes: 200, startedAt: at('2026-11-29T02:00:00Z'), finishedAt: at('2026-11-29T02:00:05Z') } as RunEntity });
    answer([
      { appName: 'shop', finishedAt: at('2026-11-28T03:00:00Z'), bytes: 100 },
      { appName: 'blog', finishedAt: at('2026-11-28T04:00:00Z'), bytes: 50 },
    ]);
    answerVerified(new Map([
      [1, { appName: 'shop', finishedAt: at('2026-11-28T05:00:00Z') }],
      [2, { appName: 'blog', finishedAt: at('2026-11-28T06:00:00Z') }],
    ]));
    await new Promise((resolve) => setTimeout(resolve, 50));

    const text = await metrics.registry.metrics();
    expect(text).toContain('backup_last_size_bytes{app="shop"} 200');
    expect(text).toContain(`backup_last_success_timestamp_seconds{app="shop"} ${Date.parse('2026-11-29T01:00:10Z') / 1000}`);
    expect(text).toContain('backup_last_size_bytes{app="blog"} 50');
    expect(text).toContain(`backup_last_verified_timestamp_seconds{app="shop"} ${Date.parse('2026-11-29T02:00:05Z') / 1000}`);
    expect(text).toContain(`backup_last_verified_timestamp_seconds{app="blog"} ${Date.parse('2026-11-28T06:00:00Z') / 1000}`);
  });

  it('rebuilds the drill gauge from the history, keeps a drill that ended meanwhile, and counts failed drills apart from verifications', async () => {
    let listener: ((event: RunEvent) => void) | undefined;
    let answerDrilled: (runs: Map<number, Pick<RunEntity, 'appName' | 'finishedAt'>>) => void = () => undefined;
    const runs = {
      onEvent: (l: (event: RunEvent) => void) => (listener = l),
      latestSuccessfulBackups: async () => [],
      latestSuccessfulVerifications: async () => new Map(),
      latestSuccessfulDrills: () => new Promise((resolve) => (answerDrilled = resolve)),
      latestSuccessfulCopies: async () => [],
    } as unknown as RunsService;
    const metrics = new MetricsService(runs, embedded);
    metrics.onModuleInit();
    const at = (iso: string) => new Date(iso);
    const drill = (id: number, status: string, finishedAt: string) =>
      ({ id, appName: 'shop', kind: 'drill', status, trigger: 'schedule', bytes: 10, startedAt: at(finishedAt), finishedAt: at(finishedAt) }) as RunEntity;
    listener!({ kind: 'finished', run: drill(11, 'succeeded', '2026-11-29T05:00:00Z') });
    listener!({ kind: 'finished', run: drill(12, 'failed', '2026-11-29T06:00:00Z') });
    answerDrilled(new Map([
      [1, { appName: 'shop', finishedAt: at('2026-11-20T05:00:00Z') }],
      [2, { appName: 'blog', finishedAt: at('2026-11-21T05:00:00Z') }],
    ]));
    await new Promise((resolve) => setTimeout(resolve, 50));

    const text = await metrics.registry.metrics();
    expect(text).toContain(`backup_last_drill_success_timestamp_seconds{app="shop"} ${Date.parse('2026-11-29T05:00:00Z') / 1000}`);
    expect(text).toContain(`backup_last_drill_success_timestamp_seconds{app="blog"} ${Date.parse('2026-11-21T05:00:00Z') / 1000}`);
    expect(text).toContain('backup_drill_failures_total{app="shop"} 1');
    expect(text).not.toContain('backup_verify_failures_total{app="shop"}');
    expect(text).not.toMatch(/backup_runs_total\{app="shop"/);
  });
});
