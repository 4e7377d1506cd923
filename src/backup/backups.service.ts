import { Injectable } from '@nestjs/common';
import { AppsService } from '../apps/apps.service';
import { StorageUnavailableError } from '../common/errors';
import { AppConfig } from '../config/app-config';
import { DestinationsService } from '../destinations/destinations.service';
import { BackupLocations } from '../storage/backup-locations.service';
import { plaintextSize } from '../storage/rclone-crypt';
import { RcloneAdapter, RemoteEntry } from '../storage/rclone.adapter';
import { backupsOf, KeepReason, previewRetention } from './backup-names';
import { policyOf } from './retention';
import { Capabilities, ContractClient } from './contract-client';
import { RunsService } from './runs.service';
import type { AppVersion } from './app-version';
import { english } from '../common/i18n';
import { timeZoneOf } from '../apps/app-time-zone';

export interface StoredBackupView {
  name: string;
  /** The backup's own size: what restore and download give. */
  size: number;
  encrypted: boolean;
  modifiedAt: string;
  /** Outcome of the latest verification; null when never verified. */
  verified: boolean | null;
  verifiedAt: Date | null;
  /** What keeps it at the next successful run (see previewRetention); empty: that run deletes it. */
  keptBy: KeepReason[];
  /** The app's version when it was made, as it reported it; null when it reported none (or no run recorded the file). */
  app: AppVersion | null;
}

export interface ConnectionCheck {
  ok: boolean;
  versions: string[];
  type: string | null;
  error: string | null;
}

/** What admins ask about an app outside a run: can we reach it, and what does the remote hold. */
@Injectable()
export class BackupsService {
  constructor(
    private readonly config: AppConfig,
    private readonly apps: AppsService,
    private readonly contract: ContractClient,
    private readonly rclone: RcloneAdapter,
    private readonly locations: BackupLocations,
    private readonly runs: RunsService,
    private readonly destinations: DestinationsService,
  ) {}

  async check(appId: number): Promise<ConnectionCheck> {
    const app = await this.apps.get(appId);
    try {
      const capabilities = await this.contract.capabilities({ url: app.url, token: this.apps.tokenOf(app) });
      return { ok: true, versions: capabilities.versions, type: capabilities.type ?? null, error: null };
    } catch (error) {
      // A check reports whatever stops a backup, including an unreadable stored token.
      const offered = (error as { capabilities?: Capabilities }).capabilities;
      return { ok: false, versions: offered?.versions ?? [], type: offered?.type ?? null, error: (error as Error).message };
    }
  }

  /**
   * This app's backups in one of its destinations (default: the first), newest first, with the outcome of each
   * one's latest verification there and what that destination's retention keeps.
   */
  async list(appId: number, destination?: string): Promise<StoredBackupView[]> {
    const app = await this.apps.get(appId);
    const target = await this.destinations.targetOf(app, destination);
    let listing: RemoteEntry[];
    try {
      listing = await this.rclone.list(await this.locations.folderOf(target.folder, target.remote));
    } catch (error) {
      throw new StorageUnavailableError(english('failure.listBackups', { name: app.name, reason: (error as Error).message }));
    }
    const files = backupsOf(app.name, listing);
    const [verifications, recorded, versions] = await Promise.all([
      this.runs.verifications(app.id, target.destinationId),
      this.runs.recordedBackupNames(app.id, target.destinationId),
      this.runs.reportedVersions(app.id),
    ]);
    const keptBy = previewRetention(app.name, listing, policyOf(target.retention, timeZoneOf(app, this.config)), recorded, new Date());
    return files.map(({ name, size, encrypted, modifiedAt }) => {
      const check = verifications.get(name);
      return {
        name,
        // A ".bin" that is not a whole crypt file shows its stored size; reading it will say what is wrong.
        size: (encrypted ? plaintextSize(size) : null) ?? size,
        encrypted,
        modifiedAt,
        verified: check ? check.status === 'succeeded' : null,
        verifiedAt: check?.finishedAt ?? null,
        keptBy: keptBy.get(name)!,
        app: versions.get(name) ?? null,
      };
    });
  }
}
