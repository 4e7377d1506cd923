import { createHash } from 'node:crypto';
import { CronTime } from 'cron';

/** One scheduled firing of one app: its backup (or verification) due at `due`, the firing's scheduled time. */
export interface Firing {
  appId: number;
  kind: 'backup' | 'verify';
  due: string;
  /** The app's zone: only a replica of this zone runs it (its queue in cluster mode). */
  zone: string;
  /** Cluster mode: the replica that took this firing and gave it back to the queue (stopping, or no free slot). */
  handedBackBy?: string;
}

/**
 * Starts the firing's run; resolves once it is queued, with a way to wait for its end (a skip has ended already).
 * A function, not a promise: an async handler returning a promise would resolve only at the run's end.
 */
export type FiringHandler = (firing: Firing) => Promise<() => Promise<void>>;

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
