import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type englishCatalogue from './locales/en.json';

/**
 * The translation catalogue: one JSON file per language in ./locales (copied next to the build by nest-cli's
 * assets), so that a third language is one more file. English is the reference: every other file has its keys.
 */
export type MessageKey = keyof typeof englishCatalogue;
export type Locale = string;

export const LOCALES_DIR = join(__dirname, 'locales');

/** Every `<language>.json` in `dir`, by language. */
export function loadCatalogue(dir: string): Record<Locale, Record<string, string>> {
  const files = readdirSync(dir).filter((file) => file.endsWith('.json')).sort();
  return Object.fromEntries(files.map((file) => [file.slice(0, -'.json'.length), JSON.parse(readFileSync(join(dir, file), 'utf8'))]));
}

const MESSAGES = loadCatalogue(LOCALES_DIR);

/** The languages present, English first. */
export const LOCALES: readonly Locale[] = ['en', ...Object.keys(MESSAGES).filter((locale) => locale !== 'en')];

/** The language switch: each language named in itself, one per catalogue file. */
export const LANGUAGE_CHOICES = LOCALES.map((code) => ({ code, name: MESSAGES[code]['language.name'] ?? code }));

export function isMessageKey(key: string): key is MessageKey {
  return key in MESSAGES.en;
}

export function isLocale(value: unknown): value is Locale {
  return typeof value === 'string' && LOCALES.includes(value);
}

/**
 * A message in `locale`; a key the language lacks falls back to English (the catalogue test keeps that from happening).
 * Text values are translated too: they are often a text the service wrote (an error inside a sentence).
 */
export function translate(locale: Locale, key: MessageKey, params: Record<string, unknown> = {}): string {
  return render(locale, key, params, 0);
}

/** Messages nest a few levels ("upload: storage: rclone … failed (…): …"); deeper is an app's text repeating ours. */
const MAX_NESTING = 6;

function render(locale: Locale, key: MessageKey, params: Record<string, unknown>, depth: number): string {
  const text = MESSAGES[locale]?.[key] ?? MESSAGES.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = params[name] ?? '';
    return typeof value === 'string' ? translateNested(locale, value, depth + 1) : String(value);
  });
}

/**
 * The English text of a message the service writes itself (a field's problem, a run's error, a log line).
 * English is what the API returns and stores; pages turn it back into the reader's language with `translateText`.
 */
export function english(key: MessageKey, params: Record<string, unknown> = {}): string {
  return translate('en', key, params);
}

/** Only these messages are written as text and recognised again; page labels are looked up by key. */
const RECOGNISED = /^(invalid|failure|log)\./;

/** A message as its fixed words (`literals`, one more than `names`) around its values. */
interface Pattern {
  key: MessageKey;
  names: string[];
  literals: string[];
  /** Characters that are not values: the most specific of two matching patterns wins. */
  fixed: number;
}

const PATTERNS: Pattern[] = Object.entries(MESSAGES.en)
  .filter(([key]) => RECOGNISED.test(key))
  .map(([key, text]) => {
    const parts = text.split(/\{(\w+)\}/);
    const literals = parts.filter((_, index) => index % 2 === 0);
    return { key: key as MessageKey, names: parts.filter((_, index) => index % 2 === 1), literals, fixed: literals.join('').length };
  })
  .sort((a, b) => b.fixed - a.fixed);

/**
 * The values of `text` if `pattern` wrote it, else null. Each value ends where the next fixed words first appear, the
 * last one where the text's fixed end starts: one pass, never backtracking like a regular expression with several
 * lazy groups would (an app's text, up to 4 KiB, could be built to make such a match take seconds).
 */
function valuesOf(pattern: Pattern, text: string): string[] | null {
  const { literals } = pattern;
  const first = literals[0];
  const last = literals[literals.length - 1];
  if (literals.length === 1) return text === first ? [] : null;
  const end = text.length - last.length;
  if (end < first.length || !text.startsWith(first) || !text.endsWith(last)) return null;
  const values: string[] = [];
  let at = first.length;
  for (const literal of literals.slice(1, -1)) {
    const found = text.indexOf(literal, at);
    if (found === -1 || found + literal.length > end) return null;
    values.push(text.slice(at, found));
    at = found + literal.length;
  }
  values.push(text.slice(at, end));
  return values;
}

/** Which catalogue message, with which values, produced this English text; null when none did (text from an app or rclone). */
export function recognise(text: string): { key: MessageKey; params: Record<string, string> } | null {
  for (const pattern of PATTERNS) {
    const values = valuesOf(pattern, text);
    if (values) return { key: pattern.key, params: Object.fromEntries(pattern.names.map((name, index) => [name, values[index]])) };
  }
  return null;
}

/**
 * A text the service wrote in English (see `english`), in `locale`: its message is recognised and translated, and so
 * are its values, which are often messages themselves ("upload: storage: …"). What no message produced (an app's
 * answer, rclone's output, a file name) is shown as it is: it is quoted, not ours to translate.
 */
export function translateText(locale: Locale, text: string): string {
  return translateNested(locale, text, 0);
}

function translateNested(locale: Locale, text: string, depth: number): string {
  if (locale === 'en' || text === '' || depth > MAX_NESTING) return text;
  const found = recognise(text);
  return found ? render(locale, found.key, found.params, depth) : text;
}

/** A stored log line, "<ISO time> <text>": the text is translated, the time kept as written. */
export function translateLogLine(locale: Locale, line: string): string {
  const [, time, text] = /^(\S+Z )?([\s\S]*)$/.exec(line)!;
  return `${time ?? ''}${translateText(locale, text)}`;
}
