import { describe, expect, it } from 'vitest';
import { AppConfig } from '../config/app-config';
import { BackupLocations } from './backup-locations.service';
import { RcloneCliAdapter } from './rclone-cli.adapter';

/** Real rclone: remotes come from RCLONE_CONFIG_* variables, as in a container without a config file. */
function locationsFor(remote: string): BackupLocations {
  process.env.RCLONE_CONFIG_GDRIVE_TYPE = 'drive';
  process.env.RCLONE_CONFIG_DAV_TYPE = 'webdav';
  process.env.RCLONE_CONFIG_DAV_URL = 'http://127.0.0.1:1/';
  const config = { rclone: { remote, bin: 'rclone', configPath: '/nonexistent/rclone.conf' } } as AppConfig;
  return new BackupLocations(config, new RcloneCliAdapter(config));
}

describe('BackupLocations', () => {
  it('addresses a Google Drive folder by id with root_folder_id', async () => {
    expect(await locationsFor('gdrive:').folderOf('1AbC-d_E')).toBe('gdrive,root_folder_id=1AbC-d_E:');
    expect(await locationsFor('gdrive,team_drive=X:Backups').folderOf('1AbC')).toBe('gdrive,team_drive=X,root_folder_id=1AbC:Backups');
    await expect(locationsFor('gdrive:').folderOf('some/path')).rejects.toThrow(/not a Google Drive folder id/);
  });

  it('uses a sub-folder on every other remote, and on local folders', async () => {
    expect(await locationsFor('dav:').folderOf('team/billing')).toBe('dav:team/billing');
    expect(await locationsFor('dav:base/').folderOf('billing')).toBe('dav:base/billing');
    expect(await locationsFor('/srv/backups').folderOf('billing')).toBe('/srv/backups/billing');
    expect(await locationsFor(':webdav,url=http\\://x:').folderOf('billing')).toBe(':webdav,url=http\\://x:billing');
  });

  it('judges a folder by the remote kind: a Drive folder id on Drive, a path not starting with "-" elsewhere', async () => {
    expect(await locationsFor('gdrive:').folderProblem('1AbC-d_E')).toBeNull();
    expect(await locationsFor('gdrive:').folderProblem('team/billing')).toMatch(/is not a Google Drive folder id/);
    expect(await locationsFor('gdrive,team_drive=X:').folderProblem('id with spaces')).toMatch(/is not a Google Drive folder id/);
    expect(await locationsFor('dav:').folderProblem('team/billing')).toBeNull();
    expect(await locationsFor('dav:').folderProblem('-billing')).toBe('must not start with "-"');
    expect(await locationsFor('/srv/backups').folderProblem('-billing')).toBe('must not start with "-"');
    // Not configured yet: the Drive rule waits for the run, which says how to fix the remote.
    expect(await locationsFor('nowhere:').folderProblem('team/billing')).toBeNull();
  });

  it('says how to fix a remote that is not configured', async () => {
    await expect(locationsFor('nowhere:').folderOf('x')).rejects.toThrow(
      'rclone remote "nowhere" (RCLONE_REMOTE) is not configured: run "rclone config", set RCLONE_CONFIG, or define RCLONE_CONFIG_NOWHERE_TYPE',
    );
  });
});
