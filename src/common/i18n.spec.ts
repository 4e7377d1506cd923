import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { english, loadCatalogue, LOCALES, LOCALES_DIR, MessageKey, recognise, translate, translateText } from './i18n';

const catalogue = loadCatalogue(LOCALES_DIR);
const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((match) => match[1]).sort();

describe('translation catalogue', () => {
  it('has English and Spanish, each from its own file', () => {
    expect(LOCALES[0]).toBe('en');
    expect(LOCALES).toContain('es');
    expect(Object.keys(catalogue).sort()).toEqual([...LOCALES].sort());
  });

  it.each(LOCALES.filter((locale) => locale !== 'en'))('%s has every English key, no other, with the same placeholders', (locale) => {
    const messages = catalogue[locale];
    expect(Object.keys(messages).sort()).toEqual(Object.keys(catalogue.en).sort());
    for (const [key, text] of Object.entries(catalogue.en)) {
      expect(typeof messages[key] === 'string' && messages[key].trim() !== '', `${locale}: ${key} is empty`).toBe(true);
      expect(placeholders(messages[key]), `${locale}: placeholders of ${key}`).toEqual(placeholders(text));
    }
  });

  it('takes a third language from one more file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'locales-'));
    writeFileSync(join(dir, 'en.json'), JSON.stringify({ 'language.name': 'English' }));
    writeFileSync(join(dir, 'fr.json'), JSON.stringify({ 'language.name': 'Français' }));
    expect(Object.keys(loadCatalogue(dir))).toEqual(['en', 'fr']);
  });

  it('never takes a name for a message: each recognised text has a space or a sign no app, file or host name has', () => {
    for (const key of Object.keys(catalogue.en).filter((key) => /^(invalid|failure|log)\./.test(key))) {
      expect(catalogue.en[key].replace(/\{\w+\}/g, ''), key).toMatch(/[^\w.:\/-]/);
    }
    expect(translate('es', 'runs.ofApp', { name: 'unknown' })).toBe('App: unknown');
  });

  it('recognises every message the service writes as that very message, never a more general one', () => {
    const written = Object.keys(catalogue.en).filter((key) => /^(invalid|failure|log)\./.test(key)) as MessageKey[];
    expect(written.length).toBeGreaterThan(80);
    for (const key of written) {
      const params = Object.fromEntries(placeholders(catalogue.en[key]).map((name, index) => [name, `«value ${index}»`]));
      expect(recognise(english(key, params))?.key, key).toBe(key);
    }
  });
});

describe('translateText', () => {
  it('translates a run error whose parts are messages themselves, and keeps what an app or rclone said as it is', () => {
    expect(translateText('es', 'export: the app sent an empty backup')).toBe('exportación: la app envió una copia vacía');
    expect(translateText('es', 'upload: storage: Failed to rcat: disk quota exceeded')).toBe('subida: almacenamiento: Failed to rcat: disk quota exceeded');
    expect(translateText('es', 'export: app answered 500: database locked')).toBe('exportación: la app respondió 500: database locked');
    expect(translateText('es', 'upload: rclone rcat failed (exit 1): Failed to copy: disk full')).toBe(
      'subida: rclone rcat falló (código de salida 1): Failed to copy: disk full',
    );
    expect(translateText('es', 'start: stored token cannot be decrypted: was SECRET_KEY changed since it was saved?')).toBe(
      'inicio: el token guardado no se puede descifrar: ¿se cambió SECRET_KEY después de guardarlo?',
    );
  });

  it('leaves English and unknown texts alone', () => {
    expect(translateText('en', 'export: the app sent an empty backup')).toBe('export: the app sent an empty backup');
    expect(translateText('es', 'something an app said')).toBe('something an app said');
  });

  it('translates the values of a page message too', () => {
    expect(translate('es', 'flash.checkFailed', { name: 'notes', error: 'app answered 409: it is busy with another backup or maintenance; try again later' })).toBe(
      'notes: la app respondió 409: está ocupada con otra copia o con mantenimiento; inténtalo más tarde',
    );
  });
});

describe('translateText on hostile text', () => {
  it('takes linear time: an app cannot stall a page with a text built to make the patterns backtrack', () => {
    // For each message: its literals repeated, so that every placeholder has many places to end, and a wrong end.
    // 16 KiB, four times a log line: lazy regular expressions took 160 ms on the worst of these at 4 KiB, and
    // grow with the cube of the length (about 10 s here); one pass grows with the length. The bound leaves room
    // for a busy machine.
    const started = performance.now();
    for (const text of Object.values(catalogue.en)) {
      const literals = text.split(/\{\w+\}/);
      if (literals.length < 3) continue;
      const middle = literals.slice(1, -1).join('x');
      const hostile = literals[0] + `x${middle}`.repeat(Math.ceil(16_384 / (middle.length + 1))).slice(0, 16_384) + '\u0000';
      translateText('es', hostile);
      translateText('es', `export: app answered 500: ${hostile}`);
    }
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
