import { describe, expect, it } from 'vitest';
import { hideSecrets } from '../common/connection-secrets';
import { remoteProblem } from './destination.validators';

describe('destination remotes', () => {
  it('takes rclone remote specs and absolute folders, refuses the rest', () => {
    for (const remote of ['gdrive:', 'b2:bucket/path', 'my remote:x', ":webdav,url='http://127.0.0.1:8080/',vendor=other:", '/srv/backups']) {
      expect(remoteProblem(remote), remote).toBeNull();
    }
    for (const remote of ['', 'relative/folder', '-flag:', '/srv/../etc', 'a\nb:', 'no-colon']) {
      expect(remoteProblem(remote), remote).not.toBeNull();
    }
  });

  it('hides credential-looking option values, quoted or not, and leaves the rest', () => {
    expect(hideSecrets(":s3,access_key_id=AK,secret_access_key='s3cr:et',region=eu:bucket")).toBe(":s3,access_key_id=AK,secret_access_key=***,region=eu:bucket");
    expect(hideSecrets(":webdav,url='http://h:1/',pass=hunter2:")).toBe(":webdav,url='http://h:1/',pass=***:");
    expect(hideSecrets(':azureblob,account=a,key="k,ey":c')).toBe(':azureblob,account=a,key=***:c');
    expect(hideSecrets('gdrive:Backups')).toBe('gdrive:Backups');
  });
});
