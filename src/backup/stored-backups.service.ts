import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Injectable } from '@nestjs/common';
import type { AppEntity } from '../apps/app.entity';
import { AppsService } from '../apps/apps.service';
import { InvalidBackupError } from '../common/errors';
import { AppConfig } from '../config/app-config';
import { BackupLocations } from '../storage/backup-locations.service';
import { AppTarget, DestinationsService } from '../destinations/destinations.service';
import { CRYPT_SUFFIX, cryptFolder, RclonePath } from '../storage/rclone-crypt';
import { RcloneAdapter, RcloneError } from '../storage/rclone.adapter';
import { BackupFailure, BackupStep } from './backup-failure';
import { backupsOf, isBackupOf } from './backup-names';
import { ByteMeter, STORED_WORDING } from './byte-meter';
import { ContractClient } from './contract-client';
import type { AppEndpoint } from './contract-http';
import { AppVersion, compareSchemas, recordedAppVersion } from './app-version';
import type { RunEntity } from './run.entity';
import { RunOutcome, RunsService } from './runs.service';
import { Watchdog } from './watchdog';
import { english } from '../common/i18n';

/** A stored backup with what was recorded when it was made. */
export interface StoredBackup {
  name: string;
  /** Where to read it: through crypt, with the passphrase its run recorded, when it was stored encrypted. */
  path: RclonePath;
  /** The destination it is read from. */
  destinationId: number;
  /** Its path in the remote, for the run's record. */
  storedPath: string;
  encrypted: boolean;
  bytes: number;
  sha256: string;
  /** What the app reported of its version when the backup was made. */
  app: AppVersion | null;
}

/** What rclone's crypt says when a file does not decrypt: another passphrase, or altered bytes. */
const UNDECRYPTABLE = /bad password|failed to authenticate|not an encrypted file|too short to be encrypted/i;

/**
 * Reading backups back: restore into the app, verify against the recorded SHA-256, download. Every read
 * goes through a ByteMeter that holds the last chunk back until size and hash match the record.
 */
@Injectable()
export class StoredBackups {
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
   * The named backup of this app, refused with InvalidBackupError unless the name is exactly one of its
   * backups in the remote and a successful run recorded its checksum.
   */
  async find(app: AppEntity, name: string, destination?: string | number | null): Promise<StoredBackup> {
    const target = await this.destinations.targetOf(app, destination);
    const folder = await this.folderOf(target);
    if (!backupsOf(app.name, await this.rclone.list(folder)).some((backup) => backup.name === name)) {
      throw new InvalidBackupError(english('failure.notOneOfBackups', { backup: name, name: app.name, id: app.id }));
    }
    return this.recorded(app, name, folder, target);
  }

  /** The app's folder in a destination (default: its first). */
  folderOf(target: AppTarget): Promise<string> {
    return this.locations.folderOf(target.folder, target.remote);
  }

  /**
   * For verification: the named backup (default: the newest one recorded) as it was recorded. It need not
   * be in the remote any more: a recorded backup that has gone missing is exactly what verify must report.
   */
  async findRecorded(app: AppEntity, name?: string, destination?: string | number | null): Promise<StoredBackup> {
    const target = await this.destinations.targetOf(app, destination);
    const chosen = name ?? (await this.runs.newestBackupName(app.id, target.destinationId));
    if (!chosen) throw new InvalidBackupError(english('failure.noRecordedBackups', { name: app.name }));
    if (!isBackupOf(app.name, chosen)) {
      throw new InvalidBackupError(english('failure.notBackupName', { backup: chosen, name: app.name }));
    }
    return this.recorded(app, chosen, await this.folderOf(target), target);
  }

  private async recorded(app: AppEntity, name: string, folder: string, target: AppTarget): Promise<StoredBackup> {
    const made = await this.runs.madeBy(app.id, name, target.destinationId);
    const destinationId = target.destinationId;
    if (!made?.sha256) throw new InvalidBackupError(english('failure.noChecksum', { backup: name }));
    const sealed = made.encryptionPassphraseEncrypted;
    const reported = recordedAppVersion(made);
    if (sealed === null) {
      const path = this.locations.fileIn(folder, name);
      return { name, path, destinationId, storedPath: path, encrypted: false, bytes: made.bytes, sha256: made.sha256, app: reported };
    }
    let passphrase: string;
    try {
      passphrase = this.apps.unseal(sealed);
    } catch (error) {
      throw new InvalidBackupError(english('failure.encryptedUnsealable', { backup: name, reason: (error as Error).message }));
    }
    const crypt = cryptFolder(folder, passphrase);
    return { name, path: { crypt, name }, destinationId, storedPath: this.locations.fileIn(folder, `${name}${CRYPT_SUFFIX}`), encrypted: true, bytes: made.bytes, sha256: made.sha256, app: reported };
  }

  /**
   * Refuses a target (the app, or its drill instance) whose capabilities do not announce restore, and a backup
   * made with a newer schema than the target runs now unless `force`; returns the comparison for the run's log.
   * Before any run is recorded for a restore; inside the run for a drill.
   */
  async checkRestorable(name: string, target: AppEndpoint, backup: StoredBackup, force: boolean): Promise<string> {
    const capabilities = await this.contract.capabilities(target).catch((error: Error) => {
      throw new InvalidBackupError(english('failure.cannotRestoreNow', { name, reason: error.message }));
    });
    if (!capabilities.restore) throw new InvalidBackupError(english('failure.noRestore', { name }));
    const schemas = compareSchemas(backup.name, backup.app, capabilities.app);
    if (!schemas.newer) return schemas.text;
    if (!force) throw new InvalidBackupError(schemas.text);
    return english('log.schemaForced', { reason: schemas.text });
  }

  /**
   * Streams the stored file into the target's import (the app, or its drill instance); it never gets a complete
   * body unless it matches the record. A run stopped before that (cancel, shutdown) leaves it with an aborted import body.
   */
  async restore(target: AppEndpoint, run: RunEntity, backup: StoredBackup, stop: AbortSignal, commit: () => void): Promise<RunOutcome> {
    const endpoint = { ...target, runId: run.id };
    await this.runs.log(run, english('log.restoring', { name: backup.name, bytes: backup.bytes, sha256: backup.sha256, url: target.url }));
    const outcome = await this.read(run, backup, stop, commit, 'import', (meter, signal) => this.contract.import(endpoint, meter, backup, signal));
    await this.runs.log(run, english('log.accepted'));
    return outcome;
  }

  /** Reads the stored file back and compares it with what was recorded when it was made. */
  async verify(run: RunEntity, backup: StoredBackup, stop: AbortSignal, commit: () => void): Promise<RunOutcome> {
    const discard = new Writable({ write: (_chunk, _encoding, callback) => callback() });
    const outcome = await this.read(run, backup, stop, commit, 'verify', (meter) => pipeline(meter, discard));
    await this.runs.log(run, english('log.verified', { name: backup.name, bytes: backup.bytes }));
    return outcome;
  }

  /** A stored backup for download: the stream, its size, and whether rclone read it all. */
  async download(appId: number, name: string, destination?: string) {
    const app = await this.apps.get(appId);
    const backup = await this.find(app, name, destination);
    return { ...this.rclone.cat(backup.path), backup };
  }

  private async read(
    run: RunEntity,
    backup: StoredBackup,
    stop: AbortSignal,
    commit: () => void,
    step: BackupStep,
    consume: (meter: ByteMeter, signal: AbortSignal) => Promise<unknown>,
  ): Promise<RunOutcome> {
    const watchdog = new Watchdog(this.config.backup.idleTimeoutMs, this.config.backup.maxDurationMs, stop);
    const meter = new ByteMeter(
      { maxBytes: null, expectedBytes: backup.bytes, expectedSha256: backup.sha256 },
      (bytes) => {
        watchdog.touch();
        this.runs.progress(run.id, bytes);
      },
      STORED_WORDING,
    );
    // Whose silence stopped it: the app, not taking bytes or not answering after the last one, or the remote.
    let delivered = false;
    meter.once('end', () => (delivered = true));
    const idleS = this.config.backup.idleTimeoutMs / 1000;
    watchdog.explainStall = () =>
      new BackupFailure(step, delivered
        ? english('failure.appSilentAfterLastByte', { seconds: idleS })
        : meter.readableLength > 0
          ? english('failure.appTookNoBytes', { seconds: idleS })
          : english('failure.remoteSentNoData', { seconds: idleS }));
    const file = this.rclone.cat(backup.path, watchdog.signal);
    // The first failure stops everything else: a bad file aborts the import, a refusing app stops rclone.
    const stopAll = (error: unknown) => {
      watchdog.abort(error instanceof Error ? error : new Error(String(error)));
      throw error;
    };
    try {
      // The meter's end (and so its checks and the held-back last chunk) waits for rclone's exit status:
      // a read rclone reports as failed is never judged, or passed on, as a short file.
      // A bad file (meter error) or any abort must reach every party first, before they report echoes.
      meter.once('error', (error) => watchdog.abort(error));
      watchdog.signal.addEventListener('abort', () => meter.destroy(watchdog.signal.reason), { once: true });
      file.stream.pipe(meter, { end: false });
      file.stream.once('error', (error) => meter.destroy(error));
      const results = await Promise.allSettled([
        // The meter's end releases the last chunk: from there the app may hold the whole backup, so a cancel
        // is honoured up to here only (commit throws once the run was cancelled, and refuses cancels after).
        file.done.then(() => {
          commit();
          meter.end();
        }).catch(stopAll),
        consume(meter, watchdog.signal).catch(stopAll),
      ]);
      const failed = results.find((result) => result.status === 'rejected') as PromiseRejectedResult | undefined;
      // The first failure aborted the others, whose errors only echo it: the abort reason is the cause.
      if (failed) throw this.explain(watchdog.signal.aborted ? watchdog.signal.reason : failed.reason, backup, step);
      return { bytes: meter.bytes, sha256: meter.sha256!, remotePath: backup.storedPath, backupName: backup.name };
    } finally {
      watchdog.stop();
    }
  }

  private explain(cause: Error, backup: StoredBackup, step: BackupStep): BackupFailure {
    if (cause instanceof BackupFailure) return cause;
    if (cause instanceof RcloneError) {
      if (cause.notFound) return new BackupFailure('read', english('failure.missingFromRemote', { name: backup.name }));
      if (backup.encrypted && UNDECRYPTABLE.test(cause.stderrTail)) {
        return new BackupFailure('read', english('failure.undecryptable', { name: backup.name, reason: cause.message }));
      }
      return new BackupFailure('read', cause.message);
    }
    return new BackupFailure(step, cause.message);
  }
}
