// A real contract v1 app for tests and the benchmark: streams any size, with or without Content-Length
// and X-Backup-Sha256, and misbehaves on demand. Plain ESM so the benchmark can run it without a build.
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';

/** Behaviours: what the app does instead of a clean answer. */
export const MISBEHAVIOURS = [
  'unauthorized', 'busy', 'fail', 'v2-only', 'abort-mid-stream', 'stall-mid-stream', 'wrong-checksum',
  'never-answer', 'silent-export', 'redirect', 'short-body', 'no-auth',
  'import-401', 'import-409', 'import-422', 'import-500', 'import-close', 'import-hang', 'import-stall', 'import-busy-once', 'no-restore', 'unavailable',
  'selftest-fail', 'selftest-500', 'selftest-garbage',
];

const BLOCK = randomBytes(1 << 20);
/** Written 64 KiB at a time by default, so delayMs paces the stream finely; mode.chunkSize changes it. */
const CHUNK = 64 * 1024;

/**
 * @param {{ token?: string, port?: number, tls?: { key: string, cert: string } }} [options] tls: serve HTTPS with this key and certificate
 * @returns {Promise<{ url: string, port: number, mode: object, setMode(m: object): void, exports: object[], imports: object[], requests: string[], headers: object[], close(): Promise<void> }>}
 */
export async function startContractApp({ token = 'test-token', port = 0, tls = undefined } = {}) {
  const state = {
    /**
     * size: bytes to send; length/checksum: announce them; behaviour: one of MISBEHAVIOURS or undefined;
     * framing 'close': without length, end the body by closing the connection (HTTP/1.0 style) instead of
     * chunked encoding; type/versions: what capabilities say, extraCapabilities: more fields in them;
     * prefix: the path the endpoints sit under (an app behind a reverse proxy), e.g. '/tenant-a';
     * importDelayMs: pause after each chunk an import receives (a slow restore);
     * app: what capabilities say of the app ({name, version, schemaVersion}), or undefined for nothing;
     * trailer: send the SHA-256 as an X-Backup-Sha256 trailer after the body (announced in `Trailer`): true, 'wrong'
     * (a wrong one) or 'announced-only' (announced, never sent); trailers need chunked framing (length: false).
     */
    mode: {
      size: 1024 * 1024, length: true, checksum: true, extension: 'db', behaviour: undefined, delayMs: 0,
      framing: 'chunked', type: 'sqlite', versions: ['v1'], extraCapabilities: {}, prefix: '', importDelayMs: 0,
      trailer: false, app: undefined,
    },
    /** What each finished export sent: { bytes, sha256 } */
    exports: [],
    /** What each import received: { bytes, sha256, complete, announcedSha256 } */
    imports: [],
    requests: [],
    /** The headers of each request, beside `requests`: what the orchestrator sends. */
    headers: [],
  };
  const sockets = new Set();
  const handle = (request, response) => {
    state.requests.push(`${request.method} ${request.url}`);
    state.headers.push(request.headers);
    const { behaviour } = state.mode;
    if (behaviour === 'never-answer') return; // the socket stays open, nothing is ever written
    const tokenOk = behaviour === 'no-auth' || request.headers.authorization === `Bearer ${token}`;
    if (!tokenOk || behaviour === 'unauthorized') {
      return send(response, 401, { error: 'invalid token' });
    }
    const { prefix } = state.mode;
    const [pathname] = request.url.split('?');
    const path = pathname.startsWith(`${prefix}/`) ? pathname.slice(prefix.length) : undefined;
    if (request.method === 'GET' && path === '/backup/capabilities') {
      const versions = behaviour === 'v2-only' ? ['v2'] : state.mode.versions;
      const { type, extension, extraCapabilities } = state.mode;
      const app = state.mode.app === undefined ? {} : { app: state.mode.app };
      return send(response, 200, { ...extraCapabilities, ...app, versions, type, extension, restore: behaviour !== 'no-restore' });
    }
    if (request.method === 'GET' && path === '/backup/selftest') return selftest(response, state);
    if (request.method === 'POST' && path === '/backup/export') {
      if (behaviour === 'silent-export') return; // capabilities fine, the export never starts answering
      if (behaviour === 'busy') return send(response, 409, { error: 'a backup is already running' });
      if (behaviour === 'unavailable') return send(response, 503, { error: 'starting up' });
      if (behaviour === 'fail') return send(response, 500, { error: 'database is locked' });
      if (behaviour === 'redirect') {
        response.writeHead(302, { Location: 'http://127.0.0.1:1/steal-token' });
        return response.end();
      }
      return void streamExport(request, response, state);
    }
    if (request.method === 'POST' && path === '/backup/import') return void receiveImport(request, response, state);
    send(response, 404, { error: 'not found' });
  };
  const server = tls ? createHttpsServer(tls, handle) : createServer(handle);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  const actualPort = server.address().port;
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${actualPort}`,
    port: actualPort,
    get mode() {
      return state.mode;
    },
    setMode(mode) {
      state.mode = { ...state.mode, behaviour: undefined, ...mode };
    },
    exports: state.exports,
    imports: state.imports,
    requests: state.requests,
    headers: state.headers,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function send(response, status, body) {
  response.writeHead(status, { 'Content-Type': 'application/json' });
  response.end(JSON.stringify(body));
}

/** The bytes of an export of `size`: a repeated random block, cut to size, in CHUNK pieces. */
function* chunksOf(size, chunkSize = CHUNK) {
  for (let sent = 0; sent < size; sent += chunkSize) {
    const offset = sent % BLOCK.length;
    yield BLOCK.subarray(offset, offset + Math.min(chunkSize, size - sent, BLOCK.length - offset));
  }
}

/** The whole export of `size` bytes, for tests that look for it elsewhere. */
export function exportBytes(size) {
  return Buffer.concat([...chunksOf(size)]);
}

const digests = new Map();

/** SHA-256 of the export of `size` bytes (memoised: the benchmark asks for 1 GiB more than once). */
export function sha256Of(size) {
  if (!digests.has(size)) digests.set(size, computeSha256(size));
  return digests.get(size);
}

function computeSha256(size) {
  const hash = createHash('sha256');
  for (const chunk of chunksOf(size)) hash.update(chunk);
  return hash.digest('hex');
}

async function streamExport(request, response, state) {
  const { size, length, checksum, behaviour, delayMs } = state.mode;
  const headers = { 'Content-Type': 'application/octet-stream', 'Content-Disposition': 'attachment; filename="dump.db"' };
  if (length) headers['Content-Length'] = String(size);
  if (checksum) headers['X-Backup-Sha256'] = behaviour === 'wrong-checksum' ? 'ab'.repeat(32) : sha256Of(size);
  const { trailer } = state.mode;
  if (trailer) headers.Trailer = 'X-Backup-Sha256';
  // Without Content-Length and chunked encoding, only the closed connection ends the body.
  if (state.mode.framing === 'close') response.useChunkedEncodingByDefault = false;
  response.writeHead(200, headers);
  const half = Math.floor(size / 2);
  let sent = 0;
  for (const chunk of chunksOf(behaviour === 'short-body' ? half : size, state.mode.chunkSize)) {
    if (response.destroyed) return;
    if (sent >= half && behaviour === 'abort-mid-stream') return void response.socket?.destroy();
    if (sent >= half && behaviour === 'stall-mid-stream') return; // keeps the connection open, sends nothing
    sent += chunk.length;
    if (!response.write(chunk)) await new Promise((resolve) => response.once('drain', resolve));
    if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs));
  }
  if (behaviour === 'short-body') return void response.socket?.destroy();
  // Computed while streaming, as an app piping pg_dump would; sha256Of gives the same for these bytes.
  if (trailer && trailer !== 'announced-only') response.addTrailers({ 'X-Backup-Sha256': trailer === 'wrong' ? 'cd'.repeat(32) : sha256Of(sent) });
  response.end();
  // The bytes are a pure function of the size, so the digest needs no hashing on the hot path.
  state.exports.push({ bytes: sent, sha256: sha256Of(sent) });
}

/** A drill instance's verdict on what it was last given: the last import arrived whole (or a failure on demand). */
function selftest(response, state) {
  const { behaviour } = state.mode;
  if (behaviour === 'selftest-500') return send(response, 500, { error: 'selftest crashed' });
  if (behaviour === 'selftest-garbage') return send(response, 200, ['not', 'an', 'object']);
  const last = state.imports.at(-1);
  const imported = { name: 'last import complete', ok: Boolean(last?.complete), detail: last ? `${last.bytes} bytes` : 'nothing imported' };
  if (behaviour === 'selftest-fail') return send(response, 200, { ok: false, checks: [imported, { name: 'rows in notes', ok: false, detail: '0 rows' }] });
  send(response, 200, { ok: imported.ok, checks: [imported, { name: 'migrations up to date', ok: true }] });
}

/** Stores (hashes) what an import receives, and misbehaves on demand. */
async function receiveImport(request, response, state) {
  const { behaviour } = state.mode;
  const early = { 'import-401': 401, 'import-409': 409, 'import-500': 500 }[behaviour];
  // 'import-busy-once': the first import comes while the app is still finishing something else.
  const busyNow = behaviour === 'import-busy-once' && !state.mode.busyAnswered;
  if (early || busyNow) {
    if (busyNow) state.mode.busyAnswered = true;
    request.resume();
    return send(response, early ?? 409, { error: `import refused with ${early ?? 409}` });
  }
  if (behaviour === 'import-stall') return; // never reads the body, never answers
  const hash = createHash('sha256');
  const record = { bytes: 0, sha256: null, complete: false, announcedSha256: request.headers['x-backup-sha256'] ?? null };
  state.imports.push(record);
  try {
    for await (const chunk of request) {
      hash.update(chunk);
      record.bytes += chunk.length;
      if (behaviour === 'import-close' && record.bytes > 64 * 1024) return void request.socket.destroy();
      if (state.mode.importDelayMs) await new Promise((resolve) => setTimeout(resolve, state.mode.importDelayMs));
    }
  } catch {
    return; // the orchestrator aborted: the body never completed
  }
  record.complete = request.complete;
  record.sha256 = hash.digest('hex');
  if (behaviour === 'import-hang') return; // took every byte, never answers
  if (behaviour === 'import-422') return send(response, 422, { error: 'schema version 7 is newer than this app' });
  response.writeHead(204).end();
}
