import { CronJob } from 'cron';
import { cronFailure } from '../apps/app.validators';

/**
 * A started cron job firing `onTick` in `timeZone` (a tick waits for the previous one's end), or why the cron
 * library refuses the expression or the zone: a schedule that never fires or an unknown zone, which the API
 * refuses too, so an older version's row or a hand edit. The backup, verification and drill schedulers leave
 * such an app without that job and say why, instead of failing the boot or the request that saved it.
 */
export function startCronJob(cronTime: string, timeZone: string, onTick: () => Promise<void>): CronJob | string {
  let job: CronJob | undefined;
  try {
    job = CronJob.from({ cronTime, timeZone, onTick, waitForCompletion: true, start: false });
    job.start(); // computes the first firing: throws for a schedule that never fires
    return job;
  } catch (failure) {
    job?.stop();
    return cronFailure(failure);
  }
}
