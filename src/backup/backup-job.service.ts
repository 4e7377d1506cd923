import { Readable } from 'node:stream';
import { Injectable, Logger } from '@nestjs/common';
import type { AppEntity } from '../apps/app.entity';
import { AppsService } from '../apps/apps.service';
import { printable } from '../common/printable';
import { AppConfig } from '../config/app-config';
import { BackupLocations } from '../storage/backup-locations.service';
import { CRYPT_SUFFIX, cryptFolder, plaintextSize, RclonePath } from '../storage/rclone-crypt';
import { RcloneAdapter, RcloneError, RemoteEntry } from '../storage/rclone.adapter';
import { BackupFailure } from './backup-failure';
import { chooseBackupName, chooseExtension, isExtension, planRetention, RetentionPlan, temporaryFilesOf, temporaryName } from './backup-names';
import { ContractClient } from './contract-client';
import { checksumSource } from './contract-http';
import { appVersionColumns, describeAppVersion } from './app-version';
import { CALENDAR_RULES, policyOf, retentionInWords } from './retention';
import { ExportTransfer, UploadOutcome } from './export-transfer';
import type { RunEntity } from './run.entity';
import { RunOutcome, RunsService } from './runs.service';
import { Watchdog } from './watchdog';
import { english } from '../common/i18n';

/**
 * One backup, from the app's export to a verified file in the remote. The bytes go from the HTTP
 * response through one ByteMeter into `rclone rcat` under a temporary name, on a worker thread of the
 * run's own (ExportTransfer); only a complete, checked upload is renamed to its final name, and only then
 * does retention delete anything. With encryption on, that rclone rcat writes through an rclone crypt
 * folder around the app's folder: the same one process encrypts, and crypt stores "{name}.bin".
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
  ) {}

  /**
   * `stop` ends the run early (shutdown, cancel); `commit` is called once, just before the rename to the
   * final name: it throws when the run was cancelled, and from then on a cancel is refused (see BackupRunner).
   */
  async run(app: AppEntity, run: RunEntity, stop: AbortSignal, commit: () => void): Promise<RunOutcome> {
    const endpoint = { url: app.url, token: this.apps.tokenOf(app), runId: run.id };
    const encryption = this.encryptionOf(app);
    const capabilities = await this.contract.capabilities(endpoint, stop);
    await this.runs.log(run, english('log.capabilities', { versions: capabilities.versions.join(', '), type: capabilities.type ?? english('log.notGiven') }));
    if (capabilities.app) await this.runs.log(run, describeAppVersion(capabilities.app));
    if (capabilities.extension !== undefined && !isExtension(capabilities.extension)) {
      await this.runs.log(run, english('log.extensionIgnored', { extension: printable(capabilities.extension, 40) }));
    }

    // Listing first proves the remote works before the app is asked for a dump, and tells which names are taken.
    const folder = await this.storageStep('upload', () => this.locations.folderOf(app.driveFolderId));
    const before = await this.storageStep('upload', () => this.rclone.list(folder));

    // The idle and duration limits start with the export: capabilities have their own connect timeout.
    const { idleTimeoutMs, maxDurationMs } = this.config.backup;
    // The bytes move on a worker thread; booting one (for a first run) is not the app's silence.
    const dump = await ExportTransfer.start();
    const watchdog = new Watchdog(idleTimeoutMs, maxDurationMs, stop);
    try {
      const { rclone, tmpDir } = this.config;
      await dump.open({ endpoint, rclone, tmpDir, maxBytes: this.config.backup.maxSizeBytes }, watchdog.signal);
      const name = chooseBackupName(app.name, run.startedAt!, chooseExtension(capabilities.extension, dump.contentDisposition), before);
      await this.runs.log(run, english(encryption ? 'log.exportStartedEncrypted' : 'log.exportStarted', {
        size: dump.contentLength === undefined ? english('log.sizeUnknown') : english('log.sizeAnnounced', { bytes: dump.contentLength }),
        checksum: english(dump.sha256 || dump.trailer ? 'log.checksumAnnounced' : 'log.checksumNotAnnounced'),
        name,
        stored: `${name}${CRYPT_SUFFIX}`,
      }));

      // Uploads go through crypt when encryption is on; renaming, checking and deleting see the stored names.
      const crypt = encryption && cryptFolder(folder, encryption.passphrase);
      const storedName = (plain: string) => (crypt ? `${plain}${CRYPT_SUFFIX}` : plain);
      const target: RclonePath = crypt ? { crypt, name: temporaryName(name, run.id) } : this.locations.fileIn(folder, temporaryName(name, run.id));
      const temporary = this.locations.fileIn(folder, storedName(temporaryName(name, run.id)));
      const sent = await this.upload(run, dump, target, temporary, watchdog);
      const source = checksumSource(dump);
      await this.runs.log(run, source === 'none' ? english('log.checksumNone') : english('log.checksumFrom', { source }));
      try {
        commit();
      } catch (cancelled) {
        await this.removeQuietly(temporary);
        throw cancelled;
      }
      const final = this.locations.fileIn(folder, storedName(name));
      const after = await this.finish(temporary, final, storedName(name), sent.bytes, crypt !== null);
      await this.runs.log(run, english(crypt ? 'log.storedEncrypted' : 'log.stored', { bytes: sent.bytes, path: final, sha256: sent.sha256 }));
      watchdog.stop();

      await this.applyRetention(app, run, folder, after, name);
      return {
        bytes: sent.bytes,
        sha256: sent.sha256!,
        remotePath: final,
        backupName: name,
        encryptionPassphraseEncrypted: encryption?.sealed ?? null,
        ...appVersionColumns(capabilities.app),
      };
    } finally {
      watchdog.stop();
      dump.close();
    }
  }

  /**
   * Streams the export into rcat at `target` (stored as `temporary`); on any failure rclone is killed and
   * the temporary file removed.
   */
  private async upload(run: RunEntity, dump: ExportTransfer, target: RclonePath, temporary: string, watchdog: Watchdog): Promise<UploadOutcome> {
    // Bytes still waiting in the meter after the idle time mean rclone stopped taking them, not the app.
    const appStall = watchdog.explainStall;
    watchdog.explainStall = () =>
      dump.waiting
        ? new BackupFailure('upload', english('failure.remoteStalled', { seconds: this.config.backup.idleTimeoutMs / 1000 }))
        : appStall();
    const sent = await dump.upload(target, (bytes) => {
      watchdog.touch();
      this.runs.progress(run.id, bytes);
    });
    const { received } = sent;
    let { stored } = sent;
    if (sent.collected && received.status === 'fulfilled') {
      const collected = sent.collected;
      // Only a stall stops this upload half-way: a request dropped once the daemon has read the body can still
      // be stored after the removal ran (measured). A shutdown or cancel lets it finish (under 1 MiB); the commit
      // then refuses the run and the file is removed.
      stored = await this.rclone.rcat(target, Readable.from([collected]), { size: collected.length, signal: watchdog.limits }).then(
        () => ({ status: 'fulfilled', value: undefined }),
        (reason: unknown) => ({ status: 'rejected', reason }),
      );
    }
    if (received.status === 'fulfilled' && stored.status === 'fulfilled') return { ...sent, stored };

    await this.removeQuietly(temporary);
    if (watchdog.signal.aborted) throw watchdog.signal.reason;
    const problem = [received, stored].find((result) => result.status === 'rejected' && result.reason instanceof BackupFailure);
    if (problem) throw (problem as PromiseRejectedResult).reason;
    // rclone failed on its own (a full disk, a remote gone): the app's side only saw its stdin break.
    if (stored.status === 'rejected' && stored.reason instanceof RcloneError) {
      throw new BackupFailure('upload', stored.reason.message);
    }
    const reason = (received.status === 'rejected' ? received.reason : (stored as PromiseRejectedResult).reason) as Error;
    throw new BackupFailure('export', english('failure.connectionBroke', { bytes: sent.bytes, reason: reason.message }));
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
  private async applyRetention(app: AppEntity, run: RunEntity, folder: string, listing: RemoteEntry[], stored: string): Promise<void> {
    const recorded = await this.runs.recordedBackupNames(app.id);
    const policy = policyOf(app, app.timezone ?? this.config.scheduler.timezone);
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
      : english('log.retentionPlan', { keep: app.retention, expired: plan.expired.length }));
    for (const { name } of plan.spared) {
      await this.runs.log(run, english('log.retentionSpared', { name, keep: app.retention }));
    }
    const leftovers = temporaryFilesOf(app.name, listing).filter((file) => file.runId < run.id).map((file) => file.entry.name);
    for (const { name, storedName } of plan.expired) {
      await this.deleteFor(run, folder, storedName, () => this.runs.deleted(run, name));
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
    const folder = await this.locations.folderOf(app.driveFolderId);
    const files = temporaryFilesOf(app.name, await this.rclone.list(folder)).filter((file) => runIds.includes(file.runId));
    for (const file of files) await this.removeQuietly(this.locations.fileIn(folder, file.entry.name));
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

