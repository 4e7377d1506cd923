// A minimal app that speaks backup contract v1 (docs/contract-v1.md), restore included, with Node's http module only.
// It keeps a small SQLite database of notes and backs it up as a consistent snapshot (VACUUM INTO), streamed
// in one pass with its SHA-256 sent after the body as an X-Backup-Sha256 trailer, so the orchestrator
// verifies it end to end; it says its version in capabilities and answers GET /backup/selftest, so that a
// second instance of it can serve as a drill instance.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync } from 'node:fs';
import { mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import Database from 'better-sqlite3';

const VERSION = JSON.parse(await readFile(new URL('./package.json', import.meta.url), 'utf8')).version;
/**
 * The database schema this code runs (kept in SQLite's user_version). Capabilities announce it, so the
 * orchestrator refuses to restore a backup made by a newer version of the app into this one.
 */
const SCHEMA_VERSION = 1;

const PORT = Number(process.env.PORT ?? 8000);
const TOKEN = process.env.BACKUP_TOKEN;
const DATA_DIR = process.env.DATA_DIR ?? './data';
if (!TOKEN) {
  console.error('BACKUP_TOKEN must be set: the orchestrator sends it as "Authorization: Bearer <token>"');
  process.exit(1);
}

mkdirSync(DATA_DIR, { recursive: true });
const DB_PATH = join(DATA_DIR, 'notes.db');
let db = new Database(DB_PATH);
db.exec('CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL, created_at TEXT NOT NULL)');
if (db.pragma('user_version', { simple: true }) === 0) db.pragma(`user_version = ${SCHEMA_VERSION}`);
if (db.prepare('SELECT count(*) AS n FROM notes').get().n === 0) {
  const insert = db.prepare("INSERT INTO notes (body, created_at) VALUES (?, datetime('now'))");
  for (let i = 1; i <= 100; i++) insert.run(`demo note ${i}`);
}
let busy = false; // one export or import at a time

function authorized(request) {
  const expected = Buffer.from(`Bearer ${TOKEN}`);
  const given = Buffer.from(request.headers.authorization ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function json(response, status, body) {
  response.writeHead(status, { 'Content-Type': 'application/json' });
  response.end(JSON.stringify(body));
}

async function exportBackup(response) {
  if (busy) return json(response, 409, { error: 'a backup or restore is already running' });
  busy = true;
  const dir = await mkdtemp(join(tmpdir(), 'notes-backup-'));
  try {
    const snapshot = join(dir, 'notes.db');
    db.prepare('VACUUM INTO ?').run(snapshot); // consistent copy while the app keeps writing
    // The checksum is computed as the bytes go out and sent after them as a trailer, as an app that streams
    // a dump it cannot read twice (pg_dump | gzip) would. Trailers need a chunked body: no Content-Length.
    response.writeHead(200, {
      'Content-Type': 'application/octet-stream',
      Trailer: 'X-Backup-Sha256',
      'Content-Disposition': 'attachment; filename="notes.db"',
    });
    const hash = createHash('sha256');
    const file = createReadStream(snapshot).on('data', (chunk) => hash.update(chunk));
    await pipeline(file, response, { end: false });
    response.addTrailers({ 'X-Backup-Sha256': hash.digest('hex') });
    response.end();
  } finally {
    busy = false;
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Restores a backup: the body goes to a file next to the database, is checked (size, SHA-256, SQLite
 * integrity) and only then replaces the database. A broken upload never touches the live data.
 */
async function importBackup(request, response) {
  if (busy) return json(response, 409, { error: 'a backup or restore is already running' });
  busy = true;
  const incoming = join(DATA_DIR, `notes.db.incoming-${process.pid}`);
  try {
    const hash = createHash('sha256');
    let bytes = 0;
    request.on('data', (chunk) => {
      hash.update(chunk);
      bytes += chunk.length;
    });
    await pipeline(request, createWriteStream(incoming));
    if (!request.complete) throw new Error('the upload was interrupted');
    const expected = request.headers['x-backup-sha256'];
    if (expected && hash.digest('hex') !== expected.toLowerCase()) return json(response, 422, { error: 'SHA-256 does not match X-Backup-Sha256' });
    if (request.headers['content-length'] && Number(request.headers['content-length']) !== bytes) return json(response, 422, { error: 'size does not match Content-Length' });
    try {
      const check = new Database(incoming, { readonly: true, fileMustExist: true });
      const ok = check.pragma('integrity_check', { simple: true }) === 'ok' && check.prepare("SELECT 1 FROM sqlite_master WHERE name = 'notes'").get();
      const schema = check.pragma('user_version', { simple: true });
      check.close();
      if (!ok) return json(response, 422, { error: 'not a notes database' });
      if (schema > SCHEMA_VERSION) return json(response, 422, { error: `schema version ${schema} is newer than this app's ${SCHEMA_VERSION}` });
    } catch {
      return json(response, 422, { error: 'not an SQLite database' });
    }
    db.close();
    await rename(incoming, DB_PATH);
    db = new Database(DB_PATH);
    json(response, 200, { restored: true, bytes });
  } catch (error) {
    if (!response.headersSent) json(response, 500, { error: error.message });
  } finally {
    busy = false;
    await rm(incoming, { force: true });
  }
}

/** What a drill asks after a restore: does the data this instance now holds work? Read only. */
function selftest() {
  const integrity = db.pragma('integrity_check', { simple: true });
  const rows = db.prepare('SELECT count(*) AS n FROM notes').get().n;
  const schema = db.pragma('user_version', { simple: true });
  const checks = [
    { name: 'integrity check', ok: integrity === 'ok', detail: String(integrity) },
    { name: 'rows in notes', ok: rows > 0, detail: `${rows} rows` },
    { name: 'schema up to date', ok: schema === SCHEMA_VERSION, detail: `schema version ${schema}, this app runs ${SCHEMA_VERSION}` },
  ];
  return { ok: checks.every((check) => check.ok), checks };
}

createServer((request, response) => {
  if (request.url === '/notes' && request.method === 'GET') {
    return json(response, 200, db.prepare('SELECT * FROM notes ORDER BY id').all());
  }
  if (request.url === '/notes' && request.method === 'POST') {
    db.prepare("INSERT INTO notes (body, created_at) VALUES ('a new note', datetime('now'))").run();
    return json(response, 201, { count: db.prepare('SELECT count(*) AS n FROM notes').get().n });
  }
  if (!request.url?.startsWith('/backup/')) return json(response, 404, { error: 'not found' });
  if (!authorized(request)) return json(response, 401, { error: 'missing or wrong bearer token' });
  if (request.method === 'GET' && request.url === '/backup/capabilities') {
    const app = { name: 'notes', version: VERSION, schemaVersion: String(SCHEMA_VERSION) };
    return json(response, 200, { versions: ['v1'], type: 'sqlite', extension: 'db', restore: true, app });
  }
  if (request.method === 'GET' && request.url === '/backup/selftest') {
    if (busy) return json(response, 409, { error: 'a backup or restore is running' });
    return json(response, 200, selftest());
  }
  if (request.method === 'POST' && request.url === '/backup/export') {
    return void exportBackup(response).catch((error) => {
      if (!response.headersSent) json(response, 500, { error: error.message });
      else response.destroy(error); // a broken body must look broken, never complete
    });
  }
  if (request.method === 'POST' && request.url === '/backup/import') return void importBackup(request, response);
  json(response, 404, { error: 'not found' });
}).listen(PORT, () => console.log(`notes app on port ${PORT}, contract v1 at /backup/*`));
