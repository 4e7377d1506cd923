// A minimal app that speaks backup contract v1 (docs/contract-v1.md), restore included, with Node's http module only.
// It keeps a small SQLite database of notes and backs it up as a consistent snapshot (VACUUM INTO),
// streamed with Content-Length and X-Backup-Sha256 so the orchestrator verifies it end to end.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync } from 'node:fs';
import { mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import Database from 'better-sqlite3';

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

async function sha256File(path) {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

async function exportBackup(response) {
  if (busy) return json(response, 409, { error: 'a backup or restore is already running' });
  busy = true;
  const dir = await mkdtemp(join(tmpdir(), 'notes-backup-'));
  try {
    const snapshot = join(dir, 'notes.db');
    db.prepare('VACUUM INTO ?').run(snapshot); // consistent copy while the app keeps writing
    const { size } = await stat(snapshot);
    response.writeHead(200, {
      'Content-Type': 'application/octet-stream',
      'Content-Length': String(size),
      'X-Backup-Sha256': await sha256File(snapshot),
      'Content-Disposition': 'attachment; filename="notes.db"',
    });
    await pipeline(createReadStream(snapshot), response);
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
      check.close();
      if (!ok) return json(response, 422, { error: 'not a notes database' });
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
    return json(response, 200, { versions: ['v1'], type: 'sqlite', extension: 'db', restore: true });
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
