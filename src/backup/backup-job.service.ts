import { Readable } from 'node:stream';
import { Injectable, Logger } from '@nestjs/common';
import type { AppEntity } from '../apps/app.entity';
import { AppsService } from '../apps/apps.service';
import { printable } from '../common/printable';
import { AppConfig } from '../config/app-config';
import { BackupLocations } from '../storage/backup-locations.service';
import { CRYPT_SUFFIX, CryptFolder, cryptFolder, plaintextSize, RclonePath } from '../storage/rclone-crypt';
import { AppTarget, DestinationsService } from '../destinations/destinations.service';
import { RcloneAdapter, RcloneError, RemoteEntry } from '../storage/rclone.adapter';
import { BackupFailure } from './backup-failure';
import { chooseBackupName, chooseExtension, isExtension, planRetention, RetentionPlan, temporaryFilesOf, temporaryName } from './backup-names';
import { ContractClient } from './contract-client';
import { checksumSource } from './contract-http';
import { appVersionColumns, describeAppVersion } from './app-version';
import { CALENDAR_RULES, policyOf, retentionInWords } from './retention';
import { ExportTransfer, UploadOutcome } from './export-transfer';
import type { RunEntity } from './run.entity';
import { CopyResult, RunOutcome, RunsService } from './runs.service';
import { Watchdog } from './watchdog';
import { english } from '../common/i18n';
import { timeZoneOf } from '../apps/app-time-zone';

/** One copy of a run in one of the app's destinations, as it goes. */
interface Copy {
  target: AppTarget;
  /** The app's folder in the destination, in rclone's terms. */
  folder: string;
  /** The passphrase this copy is encrypted with, or null. */
  encryption: { sealed: string; passphrase: string } | null;
  crypt: CryptFolder | null;
  /** The folder's listing before the export: taken names, and proof that the remote answers. */
  before: RemoteEntry[];
  /** Set once the copy failed; the others go on. */
  failure?: BackupFailure;
  /** Set once the copy is stored under its final name. */
  final?: string;
}

/**
 * One backup, from the app's export to a verified file in each of the app's destinations. The bytes go
 * from the HTTP response through one ByteMeter into one `rclone rcat` per destination at once, each under
 * a temporary name, on a worker thread of the run's own (ExportTransfer); only a complete, checked upload is
 * renamed to its final name, and only then does retention delete anything there. A destination that fails
 * (listing, upload, rename, size check) fails alone: the run is `partial` when another copy was stored.
 * With encryption on, that rclone rcat writes through an rclone crypt folder around the app's folder: the
 * same one process encrypts, and crypt stores "{name}.bin".
 */
@Injectable()
export class BackupJob {
  private readonly logger = new Logger(BackupJob.name);

  constructor(
    private readonly config: AppConfig,
    private readonly apps: AppsService,
    private readonly contract: ContractClient,
    private readonly rclone: RcloneAdapter,
    private readonly locations: BackupLocations,
    private readonly runs: RunsService,
    private readonly destinations: DestinationsService,
  ) {}

  /**
   * `stop` ends the run early (shutdown, cancel); `commit` is called once, just before the renames to the
   * final name: it throws when the run was cancelled, and from then on a cancel is refused (see BackupRunner).
   */
  async run(app: AppEntity, run: RunEntity, stop: AbortSignal, commit: () => void): Promise<RunOutcome> {
    const endpoint = { url: app.url, token: this.apps.tokenOf(app), runId: run.id };
    const appEncryption = this.encryptionOf(app);
    const capabilities = await this.contract.capabilities(endpoint, stop);
    await this.runs.log(run, english('log.capabilities', { versions: capabilities.versions.join(', '), type: capabilities.type ?? english('log.notGiven') }));
    if (capabilities.app) await this.runs.log(run, describeAppVersion(capabilities.app));
    if (capabilities.extension !== undefined && !isExtension(capabilities.extension)) {
      await this.runs.log(run, english('log.extensionIgnored', { extension: printable(capabilities.extension, 40) }));
    }

    // Listing first proves each remote works before the app is asked for a dump, and tells which names are taken.
    const copies = await Promise.all((await this.destinations.targetsOf(app)).map((target) => this.prepare(app, target, appEncryption)));
    let name: string | null = null;
    try {
      if (copies.every((copy) => copy.failure)) throw this.everyCopyFailed(copies);
      const ready = copies.filter((copy) => !copy.failure);
      if (copies.length > 1) await this.runs.log(run, english('log.destinations', { list: ready.map((copy) => `${copy.target.name} (${copy.folder})`).join(', ') }));

      // The idle and duration limits start with the export: capabilities have their own connect timeout.
      const { idleTimeoutMs, maxDurationMs } = this.config.backup;
      // The bytes move on a worker thread; booting one (for a first run) is not the app's silence.
      const dump = await ExportTransfer.start();
      const watchdog = new Watchdog(idleTimeoutMs, maxDurationMs, stop);
      try {
        const { rclone, tmpDir } = this.config;
        await dump.open({ endpoint, rclone, tmpDir, maxBytes: this.config.backup.maxSizeBytes, stallMs: idleTimeoutMs / 2 }, watchdog.signal);
        const chosen = chooseBackupName(app.name, run.startedAt!, chooseExtension(capabilities.extension, dump.contentDisposition), ready.flatMap((copy) => copy.before));
        name = chosen;
        const encrypted = ready.some((copy) => copy.crypt);
        await this.runs.log(run, english(encrypted ? 'log.exportStartedEncrypted' : 'log.exportStarted', {
          size: dump.contentLength === undefined ? english('log.sizeUnknown') : english('log.sizeAnnounced', { bytes: dump.contentLength }),
          checksum: english(dump.sha256 || dump.trailer ? 'log.checksumAnnounced' : 'log.checksumNotAnnounced'),
          name: chosen,
          stored: `${chosen}${CRYPT_SUFFIX}`,
        }));

        const sent = await this.upload(run, dump, ready, chosen, watchdog);
        const source = checksumSource(dump);
        await this.runs.log(run, source === 'none' ? english('log.checksumNone') : english('log.checksumFrom', { source }));
        const uploaded = ready.filter((copy) => !copy.failure);
        try {
          commit();
        } catch (cancelled) {
          await Promise.all(uploaded.map((copy) => this.removeQuietly(this.temporaryOf(copy, chosen, run))));
          throw cancelled;
        }
        // Uploads go through crypt when encryption is on; renaming, checking and deleting see the stored names.
        const listings = await Promise.all(uploaded.map(async (copy) => {
          const stored = storedName(copy, chosen);
          const final = this.locations.fileIn(copy.folder, stored);
          try {
            const after = await this.finish(this.temporaryOf(copy, chosen, run), final, stored, sent.bytes, copy.crypt !== null);
            copy.final = final;
            await this.runs.log(run, english(copy.crypt ? 'log.storedEncrypted' : 'log.stored', { bytes: sent.bytes, path: final, sha256: sent.sha256 }));
            return after;
          } catch (error) {
            copy.failure = asFailure(error, 'finish');
            return [];
          }
        }));
        watchdog.stop();
        if (copies.every((copy) => copy.failure)) throw this.everyCopyFailed(copies);
        for (const failed of copies.filter((copy) => copy.failure)) {
          await this.runs.log(run, english('log.copyFailed', { destination: failed.target.name, reason: failed.failure!.toString() }));
        }

        for (const [index, copy] of uploaded.entries()) {
          if (!copy.final) continue;
          if (copies.length > 1) await this.runs.log(run, english('log.retentionIn', { destination: copy.target.name }));
          await this.applyRetention(app, run, copy, listings[index], chosen);
        }
        const first = copies.find((copy) => copy.final)!;
        const failed = copies.filter((copy) => copy.failure);
        return {
          status: failed.length > 0 ? 'partial' : 'succeeded',
          error: failed.length === 0 ? null : english('failure.partial', {
            stored: copies.length - failed.length,
            total: copies.length,
            reasons: failed.map((copy) => `${copy.target.name}: ${copy.failure!.toString()}`).join('; '),
          }),
          bytes: sent.bytes,
          sha256: sent.sha256!,
          remotePath: first.final!,
          backupName: chosen,
          encryptionPassphraseEncrypted: first.encryption?.sealed ?? null,
          ...appVersionColumns(capabilities.app),
        };
      } finally {
        watchdog.stop();
        dump.close();
      }
    } catch (error) {
      // Whatever stopped the whole run (the app, a cancel, a shutdown) is every unfinished copy's reason too.
      for (const copy of copies) if (!copy.final && !copy.failure) copy.failure = asFailure(error, 'upload');
      throw error;
    } finally {
      await this.runs.recordCopies(run, copies.map((copy) => copyResult(copy, name, this.bytesOf(run, copy)))).catch((error: Error) =>
        this.logger.warn(`run ${run.id} of ${app.name}: its copies are written with its outcome (${error.message})`));
    }
  }

  /** Where the copy's folder is, what it holds and how it is encrypted; a problem fails this copy only. */
  private async prepare(app: AppEntity, target: AppTarget, appEncryption: ReturnType<AppsService['encryptionFor']>): Promise<Copy> {
    const copy: Copy = { target, folder: '', encryption: null, crypt: null, before: [] };
    try {
      copy.encryption = appEncryption ?? this.destinationEncryption(app, target);
      copy.folder = await this.storageStep('upload', () => this.locations.folderOf(target.folder, target.remote));
      copy.crypt = copy.encryption && cryptFolder(copy.folder, copy.encryption.passphrase);
      copy.before = await this.storageStep('upload', () => this.rclone.list(copy.folder));
    } catch (error) {
      copy.failure = asFailure(error, 'upload');
    }
    return copy;
  }

  private temporaryOf(copy: Copy, name: string, run: RunEntity): string {
    return this.locations.fileIn(copy.folder, storedName(copy, temporaryName(name, run.id)));
  }

  private bytesOf(run: RunEntity, copy: Copy): number {
    return copy.final ? run.bytes : 0;
  }

  /**
   * Streams the export into rcat in every ready destination at once; a destination whose upload failed has
   * its temporary file removed and its failure set, the others go on. Throws when no copy was uploaded.
   */
  private async upload(run: RunEntity, dump: ExportTransfer, ready: Copy[], name: string, watchdog: Watchdog): Promise<UploadOutcome> {
    // Bytes still waiting in the meter after the idle time mean rclone stopped taking them, not the app.
    const appStall = watchdog.explainStall;
    watchdog.explainStall = () =>
      dump.waiting
        ? new BackupFailure('upload', english('failure.remoteStalled', { seconds: this.config.backup.idleTimeoutMs / 1000 }))
        : appStall();
    const targets: RclonePath[] = ready.map((copy) =>
      copy.crypt ? { crypt: copy.crypt, name: temporaryName(name, run.id) } : this.locations.fileIn(copy.folder, temporaryName(name, run.id)));
    const sent = await dump.upload(targets, (bytes) => {
      watchdog.touch();
      this.runs.progress(run.id, bytes);
    });
    const { received } = sent;
    let { stored } = sent;
    if (sent.collected && received.status === 'fulfilled') {
      const collected = sent.collected;
      // Only a stall stops these uploads half-way: a request dropped once the daemon has read the body can still
      // be stored after the removal ran (measured). A shutdown or cancel lets them finish (under 1 MiB); the commit
      // then refuses the run and the files are removed.
      stored = await Promise.all(targets.map((target) =>
        this.rclone.rcat(target, Readable.from([collected]), { size: collected.length, signal: watchdog.limits }).then(
          (): PromiseSettledResult<void> => ({ status: 'fulfilled', value: undefined }),
          (reason: unknown): PromiseSettledResult<void> => ({ status: 'rejected', reason }),
        )));
    }
    run.bytes = sent.bytes;
    const failed = ready.filter((_, index) => received.status === 'rejected' || stored[index].status === 'rejected');
    await Promise.all(failed.map((copy) => this.removeQuietly(this.temporaryOf(copy, name, run))));
    if (failed.length === ready.length) {
      if (watchdog.signal.aborted) throw watchdog.signal.reason;
      // The app's side failing (a short or corrupt export) is the cause of every copy's end.
      if (received.status === 'rejected' && received.reason instanceof BackupFailure) throw received.reason;
    }
    for (const [index, copy] of ready.entries()) {
      if (received.status === 'fulfilled' && stored[index].status === 'fulfilled') continue;
      copy.failure = uploadFailure(stored[index], received, sent.bytes);
    }
    if (failed.length === ready.length) throw this.everyCopyFailed(ready);
    return sent;
  }

  /** The run's failure when no copy was stored: the one reason when there is one, else each destination's. */
  private everyCopyFailed(copies: Copy[]): BackupFailure {
    const failures = copies.map((copy) => copy.failure!);
    if (copies.length === 1 || new Set(failures.map((failure) => failure.toString())).size === 1) return failures[0];
    return new BackupFailure('upload', english('failure.everyDestinationFailed', {
      reasons: copies.map((copy) => `${copy.target.name}: ${copy.failure!.toString()}`).join('; '),
    }));
  }

  /** A destination's own encryption, for an app that does not encrypt; refused (for this copy) without a passphrase. */
  private destinationEncryption(app: AppEntity, target: AppTarget): Copy['encryption'] {
    try {
      return this.destinations.encryptionFor(target.destination);
    } catch (error) {
      throw new BackupFailure('upload', english('failure.nothingAsked', { name: app.name, reason: (error as Error).message }));
    }
  }

  /**
   * Renames the upload to its final name and checks that the remote holds every byte under it: for an
   * encrypted file, that what is stored decrypts to exactly `bytes` (crypt's size arithmetic, which is what
   * a listing through the crypt remote reports), from the same listing retention then uses for both kinds.
   */
  private async finish(temporary: string, final: string, name: string, bytes: number, encrypted: boolean): Promise<RemoteEntry[]> {
    await this.storageStep('finish', () => this.rclone.moveTo(temporary, final), () => this.removeQuietly(temporary));
    const folder = final.slice(0, final.length - name.length);
    const listing = await this.storageStep('finish', () => this.rclone.list(folder), () => this.removeQuietly(final));
    const stored = listing.find((entry) => entry.name === name);
    const holds = stored && (encrypted ? plaintextSize(stored.size) : stored.size);
    if (holds !== bytes) {
      await this.removeQuietly(final);
      const held = !stored
        ? english('failure.remoteNoFile', { name, bytes })
        : encrypted
          ? english('failure.remoteSizeDiffersEncrypted', {
            size: stored.size, name, bytes, decrypted: holds === null ? english('failure.notWholeCrypt') : english('failure.bytesDecrypted', { bytes: holds }),
          })
          : english('failure.remoteSizeDiffers', { size: stored.size, name, bytes });
      throw new BackupFailure('finish', held);
    }
    return listing;
  }

  /**
   * Keeps this app's `retention` newest backups and what its calendar rules keep, never the file this run
   * stored, never fewer than `retention` that the run history records as succeeded; never touches anybody
   * else's files.
   */
  private async applyRetention(app: AppEntity, run: RunEntity, copy: Copy, listing: RemoteEntry[], stored: string): Promise<void> {
    const { folder, target } = copy;
    const recorded = await this.runs.recordedBackupNames(app.id, target.destinationId);
    const policy = policyOf(target.retention, timeZoneOf(app, this.config));
    let plan: RetentionPlan;
    try {
      plan = planRetention(app.name, listing, policy, stored, recorded.add(stored));
    } catch (error) {
      // The backup is stored and checked: a policy that cannot be worked out (a zone stored by hand that the
      // runtime does not know) deletes nothing rather than failing it.
      return this.runs.log(run, english('log.retentionSkipped', { reason: (error as Error).message }));
    }
    for (const { name } of plan.future) {
      await this.runs.log(run, english('log.retentionFuture', { name }));
    }
    const calendar = CALENDAR_RULES.some((rule) => policy[rule] > 0);
    const rules = retentionInWords(policy, 'en');
    await this.runs.log(run, calendar
      ? english('log.retentionPlanCalendar', { rules, zone: policy.timezone, expired: plan.expired.length })
      : english('log.retentionPlan', { keep: target.retention.retention, expired: plan.expired.length }));
    for (const { name } of plan.spared) {
      await this.runs.log(run, english('log.retentionSpared', { name, keep: target.retention.retention }));
    }
    const leftovers = temporaryFilesOf(app.name, listing).filter((file) => file.runId < run.id).map((file) => file.entry.name);
    for (const { name, storedName } of plan.expired) {
      await this.deleteFor(run, folder, storedName, () => this.runs.deleted(run, name, target.destinationId, target.name));
    }
    for (const name of leftovers) {
      await this.deleteFor(run, folder, name, () => this.runs.log(run, english('log.leftoverRemoved', { name })));
    }
  }

  /** A deletion that fails is logged on the run; the backup itself is already safe. */
  private async deleteFor(run: RunEntity, folder: string, name: string, done: () => Promise<void>): Promise<void> {
    try {
      await this.rclone.deleteFile(this.locations.fileIn(folder, name));
      await done();
    } catch (error) {
      await this.runs.log(run, english('log.retentionDeleteFailed', { name, reason: (error as Error).message }));
    }
  }

  /** Leftover temporary files of runs that will never finish (process restarts). */
  async removeTemporaryFiles(app: AppEntity, runIds: number[]): Promise<void> {
    for (const target of await this.destinations.targetsOf(app)) {
      try {
        const folder = await this.locations.folderOf(target.folder, target.remote);
        const files = temporaryFilesOf(app.name, await this.rclone.list(folder)).filter((file) => runIds.includes(file.runId));
        for (const file of files) await this.removeQuietly(this.locations.fileIn(folder, file.entry.name));
      } catch (error) {
        // A destination out of reach keeps its leftovers until its next successful run; the others are cleaned now.
        this.logger.warn(`could not clean up temporary files of ${app.name} in ${target.name}: ${printable((error as Error).message, 4096)}`);
      }
    }
  }

  /** The passphrase for this run, refused before the app is asked for anything. */
  private encryptionOf(app: AppEntity): ReturnType<AppsService['encryptionFor']> {
    try {
      return this.apps.encryptionFor(app);
    } catch (error) {
      throw new BackupFailure('upload', english('failure.nothingAsked', { name: app.name, reason: (error as Error).message }));
    }
  }

  private async storageStep<T>(step: 'upload' | 'finish', action: () => Promise<T>, undo?: () => Promise<void>): Promise<T> {
    try {
      return await action();
    } catch (error) {
      await undo?.();
      throw error instanceof BackupFailure ? error : new BackupFailure(step, english('failure.storage', { reason: (error as Error).message }));
    }
  }

  /** Clean-up after a failure must not hide the failure itself: problems are only logged. */
  private async removeQuietly(path: string): Promise<void> {
    await this.rclone.deleteFile(path).catch((error: unknown) => {
      if (!(error instanceof RcloneError && error.notFound)) {
        this.logger.warn(`could not remove ${path}: ${printable((error as Error).message, 4096)}`);
      }
    });
  }
}


/** The name a copy is stored under: crypt appends ".bin". */
function storedName(copy: Copy, plain: string): string {
  return copy.crypt ? `${plain}${CRYPT_SUFFIX}` : plain;
}

function asFailure(error: unknown, step: 'upload' | 'finish'): BackupFailure {
  return error instanceof BackupFailure ? error : new BackupFailure(step, english('failure.storage', { reason: (error as Error).message }));
}

/** Why one destination's upload failed, from how its rclone and the app's side ended. */
function uploadFailure(stored: PromiseSettledResult<void>, received: PromiseSettledResult<void>, bytes: number): BackupFailure {
  if (stored.status === 'rejected' && stored.reason instanceof BackupFailure) return stored.reason;
  // rclone failed on its own (a full disk, a remote gone): the app's side only saw its stdin break.
  if (stored.status === 'rejected' && stored.reason instanceof RcloneError) return new BackupFailure('upload', stored.reason.message);
  const reason = (received.status === 'rejected' ? received.reason : (stored as PromiseRejectedResult).reason) as Error;
  return new BackupFailure('export', english('failure.connectionBroke', { bytes, reason: reason.message }));
}

function copyResult(copy: Copy, backupName: string | null, bytes: number): CopyResult {
  return {
    destinationId: copy.target.destinationId,
    destination: copy.target.name,
    position: copy.target.position,
    status: copy.final ? 'succeeded' : 'failed',
    backupName,
    remotePath: copy.final ?? null,
    bytes,
    error: copy.final ? null : (copy.failure?.toString() ?? null),
    encryptionPassphraseEncrypted: copy.final ? (copy.encryption?.sealed ?? null) : null,
  };
}
