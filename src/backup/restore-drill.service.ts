import { Injectable } from '@nestjs/common';
import type { AppEntity } from '../apps/app.entity';
import { AppsService } from '../apps/apps.service';
import { InvalidBackupError } from '../common/errors';
import { english } from '../common/i18n';
import { BackupFailure } from './backup-failure';
import { ContractClient } from './contract-client';
import type { AppEndpoint } from './contract-http';
import type { RunEntity } from './run.entity';
import { RunOutcome, RunsService } from './runs.service';
import { selftestPassed } from './selftest';
import { StoredBackup, StoredBackups } from './stored-backups.service';

/**
 * A restore drill: a stored backup restored into the app's drill instance (a scratch copy of the app, with
 * throw-away data) exactly as a restore would, then that instance's selftest asked whether the data works.
 * Only `drillUrl` is ever contacted, never the production `url`: a drill must not be able to touch production.
 */
@Injectable()
export class RestoreDrill {
  constructor(
    private readonly apps: AppsService,
    private readonly contract: ContractClient,
    private readonly stored: StoredBackups,
    private readonly runs: RunsService,
  ) {}

  /** The drill instance to restore into; InvalidBackupError (400) for an app without one, before any run. */
  targetOf(app: AppEntity): AppEndpoint {
    const target = this.apps.drillEndpointOf(app);
    if (!target) throw new InvalidBackupError(english('failure.noDrillInstance', { name: app.name }));
    return target;
  }

  async run(app: AppEntity, target: AppEndpoint, run: RunEntity, backup: StoredBackup, stop: AbortSignal, commit: () => void): Promise<RunOutcome> {
    await this.runs.log(run, english('log.drillStarting', { name: backup.name, url: target.url }));
    // Inside the run: a drill instance that cannot take this backup is exactly what a drill is there to find.
    const schemas = await this.stored.checkRestorable(english('log.drillInstanceOf', { name: app.name }), { ...target, runId: run.id }, backup, false).catch((error: Error) => {
      throw error instanceof InvalidBackupError ? new BackupFailure('capabilities', error.message) : error;
    });
    await this.runs.log(run, schemas);
    const outcome = await this.stored.restore(target, run, backup, stop, commit);
    const selftest = await this.contract.selftest({ ...target, runId: run.id }, stop);
    for (const check of selftest.checks) {
      await this.runs.log(run, english(check.ok ? 'log.selftestCheckPassed' : 'log.selftestCheckFailed', { name: check.name, detail: check.detail ?? '' }));
    }
    const recorded = JSON.stringify(selftest);
    if (!selftestPassed(selftest)) {
      // Kept on the failed run too: which checks failed is the point of the drill.
      await this.runs.recordSelftest(run, recorded);
      const failed = selftest.checks.filter((check) => !check.ok).map((check) => check.name);
      throw new BackupFailure('selftest', failed.length > 0
        ? english('failure.selftestChecksFailed', { checks: failed.join(', ') })
        : english('failure.selftestNotOk'));
    }
    await this.runs.log(run, english('log.drillPassed', { name: backup.name, checks: selftest.checks.length }));
    return { ...outcome, selftest: recorded };
  }
}
