import { AsyncLocalStorage } from 'node:async_hooks';

/** The run a piece of work belongs to, as log fields. */
export interface RunFields {
  app: string;
  runId: number;
}

const current = new AsyncLocalStorage<RunFields>();

/**
 * Does `work` as part of `run`: every log line written meanwhile, also after its awaits and in what it starts
 * (the job, rclone, notifications), carries the run's app and id as fields (LOG_FORMAT=json).
 */
export function inRun<T>(run: { appName: string; id: number }, work: () => T): T {
  return current.run({ app: run.appName, runId: run.id }, work);
}

export function currentRun(): RunFields | undefined {
  return current.getStore();
}
