import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer as createHttpServer, IncomingMessage, ServerResponse } from 'node:http';
import { AddressInfo, createServer, Server, Socket } from 'node:net';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AxiosResponse } from 'axios';
import { afterEach, describe, expect, it } from 'vitest';
import { StreamedBody, streamingRequest } from './streaming-http';

// A real socket on both ends: raw servers write responses byte by byte (every line and chunk boundary falls
// between two reads) or break them on purpose; Node's own server checks that real answers come through whole.

const servers: Server[] = [];
const sockets = new Set<Socket>();
afterEach(async () => {
  for (const socket of sockets) socket.destroy();
  sockets.clear();
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

async function listen(server: Server): Promise<string> {
  servers.push(server.on('connection', (socket: Socket) => sockets.add(socket)));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A server that takes the export request whole, then answers with `reply`. */
async function rawServer(reply: (socket: Socket, request: string) => unknown): Promise<string> {
  return listen(
    createServer((socket) => {
      let request = '';
      socket.on('data', (data) => {
        request += data.toString('latin1');
        if (request.endsWith('\r\n\r\n{"version":"v1"}')) void reply(socket, request);
      });
      socket.on('error', () => undefined);
    }),
  );
}

/** Writes `text` one byte per write, so that the client sees every boundary inside a read. */
async function trickle(socket: Socket, text: string): Promise<void> {
  for (const byte of Buffer.from(text, 'latin1')) {
    socket.write(Buffer.of(byte));
    await sleep(0);
  }
}

function post(url: string, signal?: AbortSignal, headers: Record<string, string> = {}): Promise<AxiosResponse> {
  return streamingRequest({ url: `${url}/backup/export?tenant=a`, method: 'POST', data: { version: 'v1' }, headers, responseType: 'stream', maxRedirects: 0, signal });
}

async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('streamingRequest', () => {
  it('sends one POST with its headers, a JSON body and Connection: close', async () => {
    let seen = '';
    const url = await rawServer((socket, request) => {
      seen = request;
      socket.end('HTTP/1.1 204 No Content\r\n\r\n');
    });
    const response = await post(url, undefined, { Authorization: 'Bearer t0k', TE: 'trailers' });
    expect(response.status).toBe(204);
    expect(await readAll(response.data)).toHaveLength(0);
    const port = new URL(url).port;
    expect(seen).toBe(
      `POST /backup/export?tenant=a HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer t0k\r\nTE: trailers\r\n` +
        'Content-Type: application/json\r\nContent-Length: 16\r\nConnection: close\r\n\r\n{"version":"v1"}',
    );
  });

  it('refuses a header value that would end its line, before connecting', () => {
    expect(() => post('http://127.0.0.1:9', undefined, { Authorization: 'Bearer a\r\nX-Evil: 1' })).toThrow(/Authorization header holds a line break/);
  });

  it('reads a head and a Content-Length body that arrive a byte at a time, interim answers skipped', async () => {
    const url = await rawServer((socket) =>
      trickle(socket, 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Backup-Sha256: abc\r\nX-Twice: a\r\nx-twice: b\r\nConstructor: c\r\n__proto__: p\r\n\r\nhello'),
    );
    const response = await post(url);
    expect(response.status).toBe(200);
    expect({ ...response.headers }).toEqual({ 'content-length': '5', 'x-backup-sha256': 'abc', 'x-twice': 'a, b', constructor: 'c', ['__proto__']: 'p' });
    expect((await readAll(response.data)).toString()).toBe('hello');
  });

  it('trims the blanks around a header value, however many (no pattern backtracks over them)', async () => {
    const url = await rawServer((socket) => void socket.end(`HTTP/1.1 204 No Content\r\nX-Pad:${' '.repeat(8000)}a b${' \t'.repeat(4000)}\r\n\r\n`));
    expect((await post(url)).headers).toEqual({ 'x-pad': 'a b' });
  });

  it('decodes a chunked body cut at every byte, extensions ignored, and keeps its trailers', async () => {
    const url = await rawServer((socket) =>
      trickle(socket, 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Backup-Sha256\r\n\r\n5;ext=1\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nX-Backup-Sha256: feed\r\n\r\n'),
    );
    const response = await post(url);
    const body = response.data as StreamedBody;
    expect((await readAll(body)).toString()).toBe('hello 0123456789');
    expect(body.trailers).toEqual({ 'x-backup-sha256': 'feed' });
  });

  it('hands the many chunks of one read on as one piece', async () => {
    const url = await rawServer((socket) => void socket.end(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${'1\r\nx\r\n'.repeat(5000)}0\r\n\r\n`));
    const pieces: Buffer[] = [];
    for await (const piece of (await post(url)).data) pieces.push(piece as Buffer);
    expect(Buffer.concat(pieces).toString()).toBe('x'.repeat(5000));
    expect(pieces.length).toBeLessThan(5); // 30 KB arrive in a read or a few, never 5000 buffers
  });

  it('ends a body without length or chunks with the connection', async () => {
    const url = await rawServer((socket) => void socket.end('HTTP/1.0 500 Internal Server Error\r\n\r\nit broke'));
    const response = await post(url);
    expect(response.status).toBe(500);
    expect((await readAll(response.data)).toString()).toBe('it broke');
  });

  it.each([
    ['a Content-Length body cut short', 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello'],
    ['a chunked body without its last chunk', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n'],
  ])('fails %s when the connection ends, even if nobody was reading yet', async (_case, answer) => {
    const url = await rawServer((socket) => void socket.end(answer));
    const response = await post(url);
    await sleep(50); // the break comes before anyone reads: it waits for the reader
    await expect(readAll(response.data)).rejects.toMatchObject({ code: 'ECONNRESET', message: 'the app closed the connection before the end of the body' });
  });

  it.each([
    ['a connection closed before any answer', '', { code: 'ECONNRESET', message: 'socket hang up' }],
    ['a status line that is not HTTP/1.x', 'SSH-2.0-OpenSSH\r\n\r\n', { code: 'HPE_INVALID', message: /a status line of "SSH-2.0-OpenSSH"/ }],
    ['a header line without a colon', 'HTTP/1.1 200 OK\r\nbroken\r\n\r\n', { code: 'HPE_INVALID', message: /a header line of "broken"/ }],
    ['both Content-Length and chunked', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n', { message: /both Content-Length and Transfer-Encoding/ }],
    ['two Content-Lengths that disagree', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n', { message: /two different Content-Length/ }],
    ['a Content-Length that is no number', 'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n', { message: /Content-Length "-1"/ }],
    ['a transfer coding that is not chunked', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n', { message: /"gzip" does not end in chunked/ }],
    ['a protocol switch nobody asked for', 'HTTP/1.1 101 Switching Protocols\r\n\r\n', { message: /unasked protocol switch/ }],
    ['headers larger than Node allows', `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, { code: 'HPE_HEADER_OVERFLOW' }],
  ])('rejects %s', async (_case, answer, expected) => {
    const url = await rawServer((socket) => void socket.end(answer));
    await expect(post(url)).rejects.toMatchObject(expected);
  });

  it('fails a body whose chunk size is not hexadecimal', async () => {
    const url = await rawServer((socket) => void socket.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'));
    const response = await post(url);
    await expect(readAll(response.data)).rejects.toThrow(/a chunk size of "zz"/);
  });

  it('rejects with the connection error Node gives (the code names the cause)', async () => {
    const url = await listen(createServer());
    await new Promise((resolve) => servers.pop()!.close(resolve));
    await expect(post(url)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('stops reading when the body is not read: the app waits instead of the memory growing', async () => {
    let written = 0;
    const url = await rawServer(async (socket) => {
      socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${256 * 1024 * 1024}\r\n\r\n`);
      const piece = Buffer.alloc(1024 * 1024);
      while (written < 256 * 1024 * 1024 && !socket.destroyed) {
        if (!socket.write(piece)) await once(socket, 'drain');
        written += piece.length;
      }
    });
    const response = await post(url);
    await sleep(500);
    // The body's buffer (1 MiB), one read (1 MiB) and both sockets' kernel buffers: a few MiB, never the 256.
    expect(written).toBeLessThan(24 * 1024 * 1024);
    response.data.destroy();
  });

  it('ends the connection and fails the body with the reason when the signal aborts mid-body', async () => {
    let closed: Promise<unknown> = Promise.resolve();
    const url = await rawServer((socket) => {
      closed = once(socket, 'close');
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nstart');
    });
    const stop = new AbortController();
    const response = await post(url, stop.signal);
    response.data.resume();
    stop.abort(new Error('stopped by the watchdog'));
    const [error] = await once(response.data, 'error');
    expect(error.message).toBe('stopped by the watchdog');
    await closed;
  });

  it.each([
    ['Content-Length', true],
    ['chunked', false],
  ])("brings Node's server's %s answer of 48 MiB through whole", async (_framing, withLength) => {
    const payload = randomBytes(48 * 1024 * 1024);
    const url = await listen(
      createHttpServer(async (request: IncomingMessage, response: ServerResponse) => {
        request.resume();
        response.writeHead(200, withLength ? { 'Content-Length': payload.length } : {});
        for (let at = 0; at < payload.length; at += 1_000_003) {
          if (!response.write(payload.subarray(at, at + 1_000_003))) await once(response, 'drain');
        }
        response.end();
      }),
    );
    const response = await post(url);
    const body = await readAll(response.data);
    expect(body.length).toBe(payload.length);
    expect(sha256(body)).toBe(sha256(payload));
  });
});
