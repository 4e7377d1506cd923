import { createHash } from 'node:crypto';
import { CronTime } from 'cron';
import type { AppEntity } from '../apps/app.entity';
import type { AppsService } from '../apps/apps.service';
import { AppNotFoundError } from '../common/errors';

/** One scheduled firing of one app: its backup (verification, drill) due at `due`, the firing's scheduled time. */
export interface Firing {
  appId: number;
  kind: 'backup' | 'verify' | 'drill';
  due: string;
  /**
   * The schedule that fired, as its scheduler names it (see firingApp). Absent from firings queued by a version
   * before it: those are taken as current.
   */
  schedule?: string;
  /** The app's zone: only a replica of this zone runs it (its queue in cluster mode). */
  zone: string;
  /** Cluster mode: the replica that took this firing and gave it back to the queue (stopping, or no free slot). */
  handedBackBy?: string;
}

/**
 * What became of a firing taken from the queue: the run it started (or that serves it), null when nothing ran (see
 * firingApp), and a way to wait for that run's end (a skip has ended already). A function, not a promise: an async
 * handler returning a promise would resolve only at the run's end.
 */
export interface TakenFiring {
  runId: number | null;
  ended: () => Promise<void>;
}

/** Starts the firing's run; resolves once it is queued. */
export type FiringHandler = (firing: Firing) => Promise<TakenFiring>;

export function takenFiring(run: { id: number } | null, settled: (runId: number) => Promise<void>): TakenFiring {
  return run ? { runId: run.id, ended: () => settled(run.id) } : { runId: null, ended: async () => undefined };
}

/**
 * Where scheduled firings go to become runs. Embedded: straight to this process's runner. Cluster: into pg-boss,
 * where every replica submits the same firing under the same id and exactly one job, taken by one replica, runs it.
 */
export abstract class FiringQueue {
  /** Registers who runs firings of this kind (the backup and the verification schedulers). */
  abstract handle(kind: Firing['kind'], handler: FiringHandler): void;
  abstract submit(firing: Firing): Promise<void>;
}

/** Today's single process: a firing is handed to the runner at once (the tick only queues it). */
export class InProcessFiringQueue extends FiringQueue {
  private readonly handlers = new Map<Firing['kind'], FiringHandler>();

  handle(kind: Firing['kind'], handler: FiringHandler): void {
    this.handlers.set(kind, handler);
  }

  async submit(firing: Firing): Promise<void> {
    await this.handlers.get(firing.kind)!(firing);
  }
}

/**
 * The app a firing taken from the queue is for, or null when the firing no longer stands: the app was deleted, or is
 * not scheduled now as it was when it fired (`scheduledAs` says how it is now: null when disabled or opted out). In a
 * cluster a firing waits in pg-boss for a poll (a second) or a free slot, and the app may change meanwhile: read from
 * the database, not from this replica's jobs, which follow other replicas' changes a moment late.
 */
export async function firingApp(firing: Firing, apps: AppsService, scheduledAs: (app: AppEntity) => string | null): Promise<AppEntity | null> {
  const app = await apps.get(firing.appId).catch((error: unknown) => {
    if (error instanceof AppNotFoundError) return null;
    throw error;
  });
  if (app === null) return null;
  const current = scheduledAs(app);
  return current !== null && (firing.schedule === undefined || firing.schedule === current) ? app : null;
}

/** A tick later than this is taken for the firing it is late for only approximately (see firingTime). */
const LATE_MS = 5000;
const EARLY_MS = 200;

/**
 * The scheduled time a tick of this schedule stands for: the latest firing of the schedule not after now (a tick
 * comes a few milliseconds after its time, or later under load). Every replica computes the same time for the
 * same firing, which makes it the firing's identity. A tick more than 5 s late is rounded to its second instead.
 */
export function firingTime(cronTime: string, timeZone: string, now = Date.now()): Date {
  const time = new CronTime(cronTime, timeZone);
  // getNextDateFrom ignores the zone the CronTime was made with: it must be given again.
  let firing = time.getNextDateFrom(new Date(now - LATE_MS), timeZone).toJSDate();
  if (firing.getTime() > now + EARLY_MS) return new Date(Math.round(now / 1000) * 1000);
  for (;;) {
    const next = time.getNextDateFrom(firing, timeZone).toJSDate();
    if (next.getTime() > now + EARLY_MS) return firing;
    firing = next;
  }
}

/** A firing's job id in pg-boss: a UUID derived from what identifies it, the same on every replica. */
export function firingId(firing: Firing): string {
  const hex = createHash('sha256').update(`${firing.kind}:${firing.appId}:${firing.due}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
