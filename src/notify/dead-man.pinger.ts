import { Injectable } from '@nestjs/common';
import { AppsService } from '../apps/apps.service';
import type { RunEntity } from '../backup/run.entity';
import { RunEvent, RunsService } from '../backup/runs.service';
import { deliver } from './deliver';
import { english } from '../common/i18n';

/**
 * Healthchecks.io-style dead-man pings for apps with a pingUrl: `/start` when a backup starts, the URL
 * itself on success, `/fail` on failure. A run that never finishes then still alerts at the monitor. A
 * cancelled run sends no end ping: it is no failure, but no backup either, so the monitor treats it as a
 * missing one (Healthchecks.io alerts once the grace time after `/start` passes without a success).
 * A verification that fails pings `/fail` too (a stored backup that cannot be read back is an outage);
 * it never pings start or success, which would tell the monitor that a backup ran.
 */
@Injectable()
export class DeadManPinger {
  /** Each run's pings go out in order: the end ping waits for the start ping. */
  private readonly pending = new Map<number, Promise<void>>();

  constructor(
    private readonly apps: AppsService,
    private readonly runs: RunsService,
  ) {
    runs.onEvent((event) => this.follow(event));
  }

  private follow(event: RunEvent): void {
    if (event.kind === 'deleted' || event.run.status === 'skipped') return;
    // A backup nobody could restore is as bad as a missing one: a failed verification or drill pings /fail too.
    const failedVerification = (event.run.kind === 'verify' || event.run.kind === 'drill') && event.kind === 'finished' && event.run.status === 'failed';
    if (event.run.kind !== 'backup' && !failedVerification) return;
    const suffix = event.kind === 'started' ? '/start' : event.run.status === 'succeeded' ? '' : event.run.status === 'cancelled' ? null : '/fail';
    const previous = this.pending.get(event.run.id) ?? Promise.resolve();
    const next = suffix === null ? previous : previous.then(() => this.ping(event.run, suffix));
    this.pending.set(event.run.id, next);
    if (event.kind === 'finished') void next.finally(() => this.pending.delete(event.run.id));
  }

  private async ping(run: RunEntity, suffix: string): Promise<void> {
    const app = await this.apps.get(run.appId).catch(() => null);
    if (!app?.pingUrl) return;
    const url = `${app.pingUrl.replace(/\/+$/, '')}${suffix}`;
    const body = suffix === '/fail' ? (run.error ?? 'failed') : `run ${run.id}`;
    const problem = await deliver(url, body, 'text/plain; charset=utf-8');
    if (problem) await this.runs.log(run, english('log.pingFailed', { which: suffix || english('log.pingSuccess'), problem })).catch(() => undefined);
  }
}
