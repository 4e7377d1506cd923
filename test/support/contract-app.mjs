// A real contract v1 app for tests and the benchmark: streams any size, with or without Content-Length
// and X-Backup-Sha256, and misbehaves on demand. Plain ESM so the benchmark can run it without a build.
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

/** Behaviours: what the app does instead of a clean answer. */
export const MISBEHAVIOURS = [
  'unauthorized', 'busy', 'fail', 'v2-only', 'abort-mid-stream', 'stall-mid-stream', 'wrong-checksum',
  'never-answer', 'silent-export', 'redirect', 'short-body', 'no-auth',
  'import-401', 'import-409', 'import-422', 'import-500', 'import-close', 'no-restore',
];

const BLOCK = randomBytes(1 << 20);
/** Written 64 KiB at a time by default, so delayMs paces the stream finely; mode.chunkSize changes it. */
const CHUNK = 64 * 1024;

/**
 * @param {{ token?: string, port?: number }} [options]
 * @returns {Promise<{ url: string, port: number, mode: object, setMode(m: object): void, exports: object[], requests: string[], close(): Promise<void> }>}
 */
export async function startContractApp({ token = 'test-token', port = 0 } = {}) {
  const state = {
    /**
     * size: bytes to send; length/checksum: announce them; behaviour: one of MISBEHAVIOURS or undefined;
     * framing 'close': without length, end the body by closing the connection (HTTP/1.0 style) instead of
     * chunked encoding; type/versions: what capabilities say.
     */
    mode: {
      size: 1024 * 1024, length: true, checksum: true, extension: 'db', behaviour: undefined, delayMs: 0,
      framing: 'chunked', type: 'sqlite', versions: ['v1'],
    },
    /** What each finished export sent: { bytes, sha256 } */
    exports: [],
    /** What each import received: { bytes, sha256, complete, announcedSha256 } */
    imports: [],
    requests: [],
  };
  const sockets = new Set();
  const server = createServer((request, response) => {
    state.requests.push(`${request.method} ${request.url}`);
    const { behaviour } = state.mode;
    if (behaviour === 'never-answer') return; // the socket stays open, nothing is ever written
    const tokenOk = behaviour === 'no-auth' || request.headers.authorization === `Bearer ${token}`;
    if (!tokenOk || behaviour === 'unauthorized') {
      return send(response, 401, { error: 'invalid token' });
    }
    if (request.method === 'GET' && request.url === '/backup/capabilities') {
      const versions = behaviour === 'v2-only' ? ['v2'] : state.mode.versions;
      return send(response, 200, { versions, type: state.mode.type, extension: state.mode.extension, restore: behaviour !== 'no-restore' });
    }
    if (request.method === 'POST' && request.url === '/backup/export') {
      if (behaviour === 'silent-export') return; // capabilities fine, the export never starts answering
      if (behaviour === 'busy') return send(response, 409, { error: 'a backup is already running' });
      if (behaviour === 'fail') return send(response, 500, { error: 'database is locked' });
      if (behaviour === 'redirect') {
        response.writeHead(302, { Location: 'http://127.0.0.1:1/steal-token' });
        return response.end();
      }
      return void streamExport(request, response, state);
    }
    if (request.method === 'POST' && request.url === '/backup/import') return void receiveImport(request, response, state);
    send(response, 404, { error: 'not found' });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  const actualPort = server.address().port;
  return {
    url: `http://127.0.0.1:${actualPort}`,
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
  response.end();
  // The bytes are a pure function of the size, so the digest needs no hashing on the hot path.
  state.exports.push({ bytes: sent, sha256: sha256Of(sent) });
}

/** Stores (hashes) what an import receives, and misbehaves on demand. */
async function receiveImport(request, response, state) {
  const { behaviour } = state.mode;
  const early = { 'import-401': 401, 'import-409': 409, 'import-500': 500 }[behaviour];
  if (early) {
    request.resume();
    return send(response, early, { error: `import refused with ${early}` });
  }
  const hash = createHash('sha256');
  const record = { bytes: 0, sha256: null, complete: false, announcedSha256: request.headers['x-backup-sha256'] ?? null };
  state.imports.push(record);
  try {
    for await (const chunk of request) {
      hash.update(chunk);
      record.bytes += chunk.length;
      if (behaviour === 'import-close' && record.bytes > 64 * 1024) return void request.socket.destroy();
    }
  } catch {
    return; // the orchestrator aborted: the body never completed
  }
  record.complete = request.complete;
  record.sha256 = hash.digest('hex');
  if (behaviour === 'import-422') return send(response, 422, { error: 'schema version 7 is newer than this app' });
  response.writeHead(204).end();
}
