import { resolve } from 'node:path';
import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { RcloneAdapter } from './rclone.adapter';
import { english } from '../common/i18n';

/** RCLONE_REMOTE split into the remote's name, its inline options and its path; null for a local folder. */
function parseRemote(remote: string): { name: string; options: string; path: string } | null {
  const match = /^(:?[\w.][\w. -]*)((?:,[^:]*)?):(.*)$/.exec(remote);
  return match ? { name: match[1], options: match[2], path: match[3] } : null;
}

export class StorageConfigError extends Error {}

/** Where each app's backups live, in rclone's terms: a folder in one destination's remote (RCLONE_REMOTE unless told). */
@Injectable()
export class BackupLocations {
  /** Each configured remote's type, by remote name, looked up once. */
  private readonly typeOfRemote = new Map<string, Promise<string>>();

  constructor(
    private readonly config: AppConfig,
    private readonly rclone: RcloneAdapter,
  ) {}

  /**
   * The app's folder. On Google Drive `driveFolderId` is a folder id, applied with root_folder_id (other
   * backends silently ignore that option, hence the type check); everywhere else it is a sub-folder path.
   */
  async folderOf(driveFolderId: string, destination = this.config.rclone.remote): Promise<string> {
    const remote = parseRemote(destination);
    if (!remote) return resolve(destination, driveFolderId);
    if ((await this.remoteType(destination)) !== 'drive') return joinPath(destination, driveFolderId);
    const problem = driveIdProblem(driveFolderId);
    if (problem) throw new StorageConfigError(english('failure.folderRefused', { folder: driveFolderId, problem }));
    return `${remote.name}${remote.options},root_folder_id=${driveFolderId}:${remote.path}`;
  }

  /**
   * Why `driveFolderId` cannot name a folder on this remote, or null; on top of the rules for every remote
   * (folderProblem in the app validators). When the remote's type cannot be looked up now, the Drive rule
   * waits for the run (folderOf), so that registering an app does not depend on rclone's config.
   */
  async folderProblem(driveFolderId: string, destination = this.config.rclone.remote): Promise<string | null> {
    const drive = parseRemote(destination) !== null && (await this.remoteType(destination).catch(() => null)) === 'drive';
    if (drive) return driveIdProblem(driveFolderId);
    return driveFolderId.startsWith('-') ? english('invalid.folderDash') : null;
  }

  /** rclone paths join with "/", except right after the remote's colon. */
  fileIn(folder: string, name: string): string {
    return joinPath(folder, name);
  }

  /** The backend of a destination: "local" for a folder, else the remote's type ("drive", "webdav", "b2"). */
  async typeOf(destination: string): Promise<string> {
    return parseRemote(destination) ? this.remoteType(destination) : 'local';
  }

  private remoteType(destination: string): Promise<string> {
    const { name } = parseRemote(destination)!;
    let known = this.typeOfRemote.get(name);
    if (!known) {
      known = this.lookUpRemoteType(name).catch((error: unknown) => {
        this.typeOfRemote.delete(name); // a fixed config is picked up on the next try
        throw error;
      });
      this.typeOfRemote.set(name, known);
    }
    return known;
  }

  private async lookUpRemoteType(name: string): Promise<string> {
    if (name.startsWith(':')) return name.slice(1); // on-the-fly backend, e.g. ":webdav,url=…:"
    const type = (await this.rclone.remoteTypes()).get(name);
    if (!type) {
      throw new StorageConfigError(english('failure.remoteNotConfigured', { name, upper: name.toUpperCase() }));
    }
    return type;
  }
}

function driveIdProblem(id: string): string | null {
  return /^[\w-]+$/.test(id) ? null : english('invalid.driveId');
}

function joinPath(folder: string, name: string): string {
  return folder.endsWith(':') || folder.endsWith('/') ? `${folder}${name}` : `${folder}/${name}`;
}
