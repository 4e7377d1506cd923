import { Injectable } from '@nestjs/common';
import type { RunEntity } from '../backup/run.entity';
import { RunsService } from '../backup/runs.service';
import { AppConfig } from '../config/app-config';
import { deliver } from './deliver';
import { english } from '../common/i18n';

/**
 * Posts a JSON message to NOTIFY_WEBHOOK_URL when a run fails (and, with NOTIFY_ON_SUCCESS, when one
 * succeeds). `text` makes it readable as it is by Slack-compatible webhooks. A cancelled run is neither:
 * an admin stopped it and knows, so nobody is woken up for it.
 */
@Injectable()
export class WebhookNotifier {
  constructor(
    private readonly config: AppConfig,
    private readonly runs: RunsService,
  ) {
    if (config.notify.webhookUrl) runs.onEvent((event) => event.kind === 'finished' && void this.notify(event.run));
  }

  private async notify(run: RunEntity): Promise<void> {
    // A partial backup is a problem (a copy is missing), reported like a failure even without NOTIFY_ON_SUCCESS.
    const wanted = run.status === 'failed' || run.status === 'partial' || (run.status === 'succeeded' && this.config.notify.onSuccess);
    if (!wanted) return;
    const link = this.config.notify.publicUrl ? `${this.config.notify.publicUrl}/runs/${run.id}` : null;
    const durationMs = run.startedAt && run.finishedAt ? run.finishedAt.getTime() - run.startedAt.getTime() : null;
    const what = { backup: 'Backup', restore: 'Restore', verify: 'Verification', drill: 'Restore drill' }[run.kind];
    const text = run.status === 'failed'
      ? `${what} of ${run.appName} failed: ${run.error}${link ? ` (${link})` : ''}`
      : run.status === 'partial'
      ? `${what} of ${run.appName} partial: ${run.bytes} bytes stored in some destinations only: ${run.error}${link ? ` (${link})` : ''}`
      : `${what} of ${run.appName} succeeded: ${run.bytes} bytes${link ? ` (${link})` : ''}`;
    const payload = { app: run.appName, runId: run.id, kind: run.kind, status: run.status, error: run.error, bytes: run.bytes, durationMs, link, text };
    const problem = await deliver(this.config.notify.webhookUrl!, JSON.stringify(payload), 'application/json');
    if (problem) await this.runs.log(run, english('log.webhookFailed', { problem })).catch(() => undefined);
  }
}
