const ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * Text from outside (an app's answers and headers, rclone's stderr) made fit for one log line: control
 * and line-separator characters are escaped so it can never start a line of its own (a forged
 * "… stored 999 bytes" entry), and it is cut to `maxLength` so it cannot bloat every run's log.
 */
export function printable(text: string, maxLength: number): string {
  const escaped = text.replace(
    /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g,
    (char) => ESCAPES[char] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return escaped.length > maxLength ? `${escaped.slice(0, maxLength)}… (cut, ${text.length} characters)` : escaped;
}
