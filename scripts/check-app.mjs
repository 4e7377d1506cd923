#!/usr/bin/env node
// Contract v1 conformance checker: npm run check-app -- --url http://app:8000 --token TOKEN
// Tells, point by point, whether an app meets docs/contract-v1.md. Exit 0 only when every check passes.
// Plain Node (no dependencies) so it also runs inside the orchestrator's image.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    token: { type: 'string' },
    'timeout-s': { type: 'string', default: '30' },
    'idle-timeout-s': { type: 'string', default: '300' },
  },
});
if (!values.url || !values.token) {
  console.error('usage: npm run check-app -- --url http://app:8000 --token TOKEN [--timeout-s 30] [--idle-timeout-s 300]');
  process.exit(2);
}
const base = values.url.replace(/\/+$/, '');
const token = values.token;
const timeoutMs = Number(values['timeout-s']) * 1000;
const idleMs = Number(values['idle-timeout-s']) * 1000;
let restore = false;
/** The export, kept on disk for the round trip when the app announces restore. */
const exported = { dir: mkdtempSync(join(tmpdir(), 'check-app-')), bytes: 0, sha256: '' };
const EXTENSION = /^[A-Za-z0-9]{1,16}(?:\.(?:gz|zst|xz|bz2|lz4|br|age|gpg))?$/;

const results = [];
function report(ok, title, detail) {
  results.push(ok);
  console.log(`${ok ? 'PASS' : 'FAIL'}  ${title}${detail ? ` — ${detail}` : ''}`);
}

async function call(method, path, auth, { body, signal } = {}) {
  const headers = { Accept: 'application/json, application/octet-stream', 'Accept-Encoding': 'identity' };
  if (auth) headers.Authorization = `Bearer ${auth}`;
  if (body) headers['Content-Type'] = 'application/json';
  return fetch(`${base}${path}`, { method, headers, body, redirect: 'manual', signal: signal ?? AbortSignal.timeout(timeoutMs) });
}

async function refusesWithout(method, path, body) {
  for (const [label, auth] of [['no token', undefined], ['a wrong token', `${token}-wrong`]]) {
    try {
      const response = await call(method, path, auth, { body });
      await response.body?.cancel();
      report([401, 403].includes(response.status), `${method} ${path} refuses ${label}`, `answered ${response.status}, expected 401 or 403`);
    } catch (error) {
      report(false, `${method} ${path} refuses ${label}`, describe(error));
    }
  }
}

function describe(error) {
  if (error?.name === 'TimeoutError') return `no answer within ${timeoutMs / 1000} s`;
  return `request failed: ${error?.cause?.code ?? error?.cause?.message ?? error?.message}`;
}

async function checkCapabilities() {
  const started = Date.now();
  let response;
  try {
    response = await call('GET', '/backup/capabilities', token);
  } catch (error) {
    report(false, 'GET /backup/capabilities answers with the token', describe(error));
    return false;
  }
  report(response.status === 200, 'GET /backup/capabilities answers 200 with the token', `answered ${response.status} in ${Date.now() - started} ms`);
  if (response.status !== 200) return false;
  let body;
  try {
    body = await response.json();
  } catch {
    report(false, 'capabilities are JSON', 'the body is not valid JSON');
    return false;
  }
  const versions = Array.isArray(body.versions) ? body.versions : typeof body.version === 'string' ? [body.version] : [];
  report(versions.includes('v1'), 'capabilities offer contract v1', `versions: ${JSON.stringify(versions)}`);
  report(body.type === undefined || typeof body.type === 'string', 'capabilities "type" is text when present', `type: ${JSON.stringify(body.type)}`);
  report(body.extension === undefined || (typeof body.extension === 'string' && EXTENSION.test(body.extension)),
    'capabilities "extension" is a valid file extension when present', `extension: ${JSON.stringify(body.extension)}`);
  restore = body.restore === true;
  console.log(`INFO  restore ${restore ? 'announced: the import will be checked with a round trip of the export' : 'not announced'}`);
  return versions.includes('v1');
}

async function checkExport() {
  const controller = new AbortController();
  let idle = setTimeout(() => controller.abort(new Error(`no byte for ${idleMs / 1000} s`)), idleMs);
  const started = Date.now();
  try {
    const response = await call('POST', '/backup/export', token, { body: JSON.stringify({ version: 'v1' }), signal: controller.signal });
    const firstResponseMs = Date.now() - started;
    report(response.status === 200, 'POST /backup/export answers 200', `answered ${response.status} after ${firstResponseMs} ms`);
    if (response.status !== 200) return;
    report(!response.headers.get('content-encoding'), 'export body is not Content-Encoded', response.headers.get('content-encoding') ?? 'none');
    const announcedLength = response.headers.get('content-length');
    const announcedSha = response.headers.get('x-backup-sha256');
    const framing = announcedLength !== null ? 'Content-Length' : response.headers.get('transfer-encoding') ?? 'none: ends when the connection closes';
    report(announcedLength !== null || /\bchunked\b/i.test(framing), 'export body has Content-Length or chunked Transfer-Encoding', framing);
    if (announcedSha !== null) report(/^[a-f0-9]{64}$/i.test(announcedSha), 'X-Backup-Sha256 is 64 hex digits', announcedSha);
    const hash = createHash('sha256');
    let bytes = 0;
    let chunks = 0;
    let longestPauseMs = 0;
    let last = Date.now();
    const copy = createWriteStream(join(exported.dir, 'export'));
    for await (const chunk of response.body) {
      if (!copy.write(chunk)) await new Promise((resolve) => copy.once('drain', resolve));
      const now = Date.now();
      longestPauseMs = Math.max(longestPauseMs, now - last);
      last = now;
      idle.refresh();
      hash.update(chunk);
      bytes += chunk.length;
      chunks++;
    }
    const seconds = (Date.now() - started) / 1000;
    report(bytes > 0, 'export streams a non-empty body', `${bytes} bytes in ${chunks} chunks, ${seconds.toFixed(1)} s, ${(bytes / 1048576 / seconds).toFixed(1)} MiB/s`);
    if (announcedLength !== null) report(Number(announcedLength) === bytes, 'byte count matches Content-Length', `received ${bytes}, announced ${announcedLength}`);
    else console.log('INFO  no Content-Length: sending it lets the orchestrator check the size and upload faster');
    await new Promise((resolve) => copy.end(resolve));
    const sha = hash.digest('hex');
    Object.assign(exported, { bytes, sha256: sha });
    if (announcedSha !== null) report(announcedSha.toLowerCase() === sha, 'SHA-256 matches X-Backup-Sha256', `received ${sha}`);
    else console.log('INFO  no X-Backup-Sha256: sending it lets the orchestrator verify the backup end to end');
    report(longestPauseMs < idleMs, `no pause longer than ${idleMs / 1000} s (BACKUP_IDLE_TIMEOUT_S)`, `longest pause ${longestPauseMs} ms`);
  } catch (error) {
    report(false, 'export body arrives complete', controller.signal.aborted ? String(controller.signal.reason.message) : describe(error));
  } finally {
    clearTimeout(idle);
  }
}

/** Sends the app its own export back: an app that announces restore must accept it. */
async function checkImport() {
  await refusesWithout('POST', '/backup/import', 'not a backup');
  const started = Date.now();
  try {
    const response = await fetch(`${base}/backup/import`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${token}`,
        'Content-Type': 'application/octet-stream',
        'Content-Length': String(exported.bytes),
        'X-Backup-Sha256': exported.sha256,
      },
      body: Readable.toWeb(createReadStream(join(exported.dir, 'export'))),
      duplex: 'half',
      redirect: 'manual',
      signal: AbortSignal.timeout(idleMs),
    });
    const text = (await response.text()).slice(0, 200);
    report([200, 204].includes(response.status), 'POST /backup/import accepts its own export (round trip)',
      `answered ${response.status} after ${Date.now() - started} ms${text ? `: ${text}` : ''}`);
  } catch (error) {
    report(false, 'POST /backup/import accepts its own export (round trip)', describe(error));
  }
}

console.log(`Checking ${base} against backup contract v1\n`);
await refusesWithout('GET', '/backup/capabilities');
await refusesWithout('POST', '/backup/export', JSON.stringify({ version: 'v1' }));
if (await checkCapabilities()) {
  await checkExport();
  if (restore && exported.bytes > 0) await checkImport();
}
rmSync(exported.dir, { recursive: true, force: true });
const failed = results.filter((ok) => !ok).length;
console.log(`\n${results.length - failed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
