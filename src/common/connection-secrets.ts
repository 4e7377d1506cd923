/**
 * An rclone connection string with the values of options that look like credentials (`pass=`, `password=`,
 * `secret_access_key=`, `account_key=`, `token=`, …) replaced by `***`: for showing a destination's remote in
 * the API, the pages and the audit log.
 */
export function hideSecrets(remote: string): string {
  return remote.replace(/((?:pass|password2?|secret\w*|key|\w*_key|token|\w*_token)=)('(?:[^']|'')*'|"(?:[^"]|"")*"|[^,:'"]*)/gi, '$1***');
}
