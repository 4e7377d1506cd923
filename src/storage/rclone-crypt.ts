import { createCipheriv, randomBytes } from 'node:crypto';

/**
 * rclone's crypt backend wrapped around a folder, with file names left readable (`filename_encryption =
 * off`: rclone stores "x.db" as "x.db.bin"), so that an admin still sees which backup is which.
 * `password` is rclone-obscured, which hides it from a glance but not from anyone: it is the passphrase.
 */
export interface CryptFolder {
  readonly folder: string;
  readonly password: string;
}

/** A file seen through a crypt folder (its plaintext name); an empty name is the folder itself. */
export interface CryptPath {
  readonly crypt: CryptFolder;
  readonly name: string;
}

/** An rclone path as the storage port takes it: plain ("remote:folder/file", a local path) or through crypt. */
export type RclonePath = string | CryptPath;

/** What rclone's crypt appends to the stored name when names are not encrypted. */
export const CRYPT_SUFFIX = '.bin';

// rclone's `obscure` is AES-256-CTR under this fixed key (rclone's fs/config/obscure), the IV in front,
// base64url without padding. Doing it here keeps the passphrase off every command line.
const OBSCURE_KEY = Buffer.from('9c935b48730a554d6bfd7c63c886a92bd390198eb8128afbf4de162b8b95f638', 'hex');

/** What `rclone obscure <passphrase>` prints. */
export function obscure(passphrase: string): string {
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-256-ctr', OBSCURE_KEY, iv);
  return Buffer.concat([iv, cipher.update(passphrase, 'utf8'), cipher.final()]).toString('base64url');
}

export function cryptFolder(folder: string, passphrase: string): CryptFolder {
  return { folder, password: obscure(passphrase) };
}

/**
 * The name under which a child process sees the crypt folder. The remote is defined in that child's
 * environment (readable by this user only), never in its arguments (which `ps` shows to everyone), and
 * the destination goes in raw: no quoting of a destination that holds quotes, commas or colons.
 */
const ENV_REMOTE = 'app_orquestador_crypt';

/** A path as a child process's argument, with the environment that argument needs. */
export function forChild(path: RclonePath): { arg: string; env: Record<string, string> } {
  if (typeof path === 'string') return { arg: path, env: {} };
  const prefix = `RCLONE_CONFIG_${ENV_REMOTE.toUpperCase()}_`;
  return {
    arg: `${ENV_REMOTE}:${path.name}`,
    env: {
      [`${prefix}TYPE`]: 'crypt',
      [`${prefix}REMOTE`]: path.crypt.folder,
      [`${prefix}PASSWORD`]: path.crypt.password,
      [`${prefix}FILENAME_ENCRYPTION`]: 'off',
      [`${prefix}DIRECTORY_NAME_ENCRYPTION`]: 'false',
    },
  };
}

/**
 * The crypt folder as an inline remote, for the long-lived rclone daemon (whose environment is fixed when it
 * starts). It only travels in loopback requests to the daemon, never on a command line. Values are quoted
 * with ' and a ' inside is doubled, rclone's rule, so a destination that is itself a connection string
 * (`:webdav,url='http://h:1':`) or holds "," or ":" stays one value.
 */
export function connectionString(crypt: CryptFolder): string {
  const quote = (value: string) => `'${value.replaceAll("'", "''")}'`;
  return `:crypt,remote=${quote(crypt.folder)},password=${quote(crypt.password)},filename_encryption=off,directory_name_encryption=false:`;
}

/**
 * rclone quotes the connection string it failed on in its messages: the passwords in it (rclone-obscured,
 * so as good as the passphrase) are replaced before any such text is kept or shown.
 */
export function redactPasswords(text: string): string {
  return text.replace(/(password2?=)('(?:[^']|'')*'|"(?:[^"]|"")*"|[^,:'"]*)/g, '$1***');
}

// crypt's format: a 32-byte header (magic and nonce), then each block of up to 64 KiB of plaintext
// sealed with a 16-byte tag.
const HEADER_BYTES = 32;
const BLOCK_DATA = 64 * 1024;
const BLOCK_TAG = 16;

/** The plaintext size of a file crypt stored in `stored` bytes, as `rclone lsjson` on the crypt remote says; null when no such file exists. */
export function plaintextSize(stored: number): number | null {
  if (stored < HEADER_BYTES) return null;
  const body = stored - HEADER_BYTES;
  const blocks = Math.floor(body / (BLOCK_DATA + BLOCK_TAG));
  const rest = body % (BLOCK_DATA + BLOCK_TAG);
  if (rest > 0 && rest <= BLOCK_TAG) return null;
  return blocks * BLOCK_DATA + (rest > 0 ? rest - BLOCK_TAG : 0);
}
