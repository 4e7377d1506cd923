import { pipeline } from 'node:stream/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parentPort } from 'node:worker_threads';
import { SMALL_UPLOAD_BYTES } from '../storage/rclone-daemon';
import type { RclonePath } from '../storage/rclone-crypt';
import { rcat } from '../storage/rclone-process';
import { BackupFailure } from './backup-failure';
import { ByteMeter } from './byte-meter';
import { english } from '../common/i18n';
import { FanOut } from './fan-out';
import { ExportStream, openExport, trailingSha256 } from './contract-http';
import { streamingRequest } from './streaming-http';
import { FromWorker, ToWorker, TransferSettings, WireOutcome, toWire } from './export-transfer';

// The byte path of one run at a time on a thread of its own (see ExportTransfer): open the export, wait
// for the target name, stream through the ByteMeter into rclone rcat, report how each side ended.

/** How often progress is reported: often enough for the live view, rarely enough to cost nothing. */
const PROGRESS_MS = 100;

/**
 * Every chunk of the export is a new buffer of up to 1 MiB (streaming-http), held outside V8's heap. V8 frees
 * dead ones only at a collection, and starts one for such memory only once ~64 MB of it is pending: each
 * backup's thread then holds tens of MB of garbage buffers (a 1 GiB backup into two destinations: RSS +98 MB
 * without this, +36 MB with it).
 * A minor collection every few MiB streamed frees them early; it finds almost nothing alive, so it costs
 * well under a millisecond. `gc` is exposed to this thread only, through a context of its own.
 */
const COLLECT_EVERY_BYTES = 8 * 1024 * 1024;
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as (options: { type: 'minor' }) => void;

const port = parentPort!;
const post = (message: FromWorker) => port.postMessage(message);
let job: { settings: TransferSettings; stop: AbortController; dump?: ExportStream } | undefined;
/** Every rclone rcat of the run (one per destination). */
const rclonePids = new Set<number>();

// A crash closes this thread's pipes, which rclone takes as a clean end of its input (it may store a cut
// file): it is killed first. The service kills it too when the thread is gone, but that comes too late.
process.on('uncaughtException', (error) => {
  for (const pid of rclonePids) process.kill(pid, 'SIGKILL');
  throw error;
});

async function open(settings: TransferSettings): Promise<void> {
  job = { settings, stop: new AbortController() };
  try {
    job.dump = await openExport(streamingRequest, settings.endpoint, job.stop.signal);
  } catch (error) {
    return post({ type: 'failed', error: toWire(error) });
  }
  const { contentLength, sha256, trailer, contentDisposition } = job.dump;
  post({ type: 'opened', contentLength, sha256, trailer, contentDisposition });
}

async function upload({ settings, stop, dump }: { settings: TransferSettings; stop: AbortController; dump: ExportStream }, targets: RclonePath[]): Promise<void> {
  // Progress is sampled by the reporter below rather than per chunk.
  let lastCollectionAt = 0;
  const meter = new ByteMeter(
    {
      maxBytes: settings.maxBytes,
      expectedBytes: dump.contentLength,
      expectedSha256: dump.sha256,
      trailingSha256: dump.trailer ? () => trailingSha256(dump) : undefined,
      refuseEmpty: true,
    },
    (bytes) => {
      if (bytes - lastCollectionAt < COLLECT_EVERY_BYTES) return;
      lastCollectionAt = bytes;
      collectGarbage({ type: 'minor' });
    },
  );
  let reported = { bytes: 0, waiting: false };
  const report = () => {
    const now = { bytes: meter.bytes, waiting: meter.readableLength > 0 };
    if (now.bytes !== reported.bytes || now.waiting !== reported.waiting) post({ type: 'progress', ...(reported = now) });
  };
  const reporter = setInterval(report, PROGRESS_MS);
  // A small backup is handed back whole, once the meter passed it, for the service's rclone daemon to store
  // (no rclone process per run); anything larger streams into one rclone rcat per destination from here, all
  // at once at the pace of the slowest (FanOut): one that stops taking bytes for half the idle time is cut
  // off alone, before the run's watchdog would stop them all.
  let collected: Buffer | undefined;
  let stored: PromiseSettledResult<void>[];
  const small = dump.contentLength !== undefined && dump.contentLength < SMALL_UPLOAD_BYTES;
  let received: PromiseSettledResult<void>;
  const started = (pid: number) => {
    rclonePids.add(pid);
    post({ type: 'rclone', pid });
  };
  if (small) {
    const collecting = meter.toArray().then((chunks) => void (collected = Buffer.concat(chunks)));
    const results = await Promise.allSettled([pipeline(dump.body, meter), collecting]);
    received = results[0];
    stored = targets.map(() => results[1]);
  } else if (targets.length === 1) {
    // One destination: the meter feeds its rclone directly, one hop fewer per chunk.
    const results = await Promise.allSettled([
      pipeline(dump.body, meter),
      rcat(settings, targets[0], meter, { size: dump.contentLength, signal: stop.signal, started }),
    ]);
    [received, ...stored] = results;
  } else {
    const fanOut = new FanOut(
      targets.length,
      settings.stallMs,
      () => new BackupFailure('upload', english('failure.destinationStalled', { seconds: settings.stallMs / 1000 })),
      () => new Error('no destination is taking the backup any more'),
    );
    const results = await Promise.allSettled([
      pipeline(dump.body, meter, fanOut),
      ...targets.map((target, index) => rcat(settings, target, fanOut.branches[index], { size: dump.contentLength, signal: stop.signal, started })),
    ]);
    [received, ...stored] = results;
  }
  rclonePids.clear();
  clearInterval(reporter);
  report();
  const wire = (result: PromiseSettledResult<void>): WireOutcome =>
    result.status === 'fulfilled' ? { status: 'fulfilled' } : { status: 'rejected', error: toWire(result.reason) };
  post({ type: 'settled', received: wire(received), stored: stored.map(wire), bytes: meter.bytes, sha256: meter.sha256, collected });
}

port.on('message', (message: ToWorker) => {
  if (message.type === 'open') void open(message.settings);
  if (message.type === 'upload' && job?.dump) void upload({ ...job, dump: job.dump }, message.targets);
  if (message.type === 'abort') job?.stop.abort(new Error('aborted by the service'));
});
post({ type: 'ready' });
