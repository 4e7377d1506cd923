import { maxHeaderSize } from 'node:http';
import { connect as connectTcp, isIP } from 'node:net';
import { Readable } from 'node:stream';
import { connect as connectTls } from 'node:tls';
import type { AxiosRequestConfig, AxiosResponse } from 'axios';

// The HTTP/1.1 client the export's worker thread asks for the export with (one POST, its answer streamed), in
// place of Node's. Node's parser hands a body over in 64 KiB pieces, each copied into a buffer of its own and
// pushed through an IncomingMessage: reading 1 GiB that way took 2.2 CPU seconds on the 2-core VM, against 0.3
// for socket reads into one reused 1 MiB buffer. Those seconds are the ones rclone needs beside it: with this
// client a 1 GiB export into two destinations went as fast as `curl | tee | rclone rcat` (bench/destinations).
// Only what an export needs: one request per connection (Connection: close), no redirects, no compression; an
// answer framed by Content-Length, chunked encoding (trailers kept) or the end of the connection.

/** One socket read at most: the body leaves it in one copy per read, so a read is also the largest chunk. */
const READ_BUFFER_BYTES = 1 << 20;
/** A chunk-size line: the hexadecimal size and any extensions. */
const MAX_CHUNK_LINE_BYTES = 4096;
const CHUNKED_LAST = /(?:^|,)\s*chunked\s*$/i;

/** An error as Node's HTTP client reports it: the code is what describeRequestError reads. */
class HttpError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

const malformed = (what: string) => new HttpError(`malformed HTTP response from the app: ${what}`, 'HPE_INVALID');

/** A response body as IncomingMessage gives it: a Readable, and the trailers once it ended. */
export class StreamedBody extends Readable {
  trailers = fieldMap();

  constructor(
    private readonly readMore: () => void,
    private readonly onDestroy: () => void,
  ) {
    super({ highWaterMark: READ_BUFFER_BYTES });
    // The connection may break before anyone reads (the service is naming the file): the error then waits in
    // `errored` for pipeline() to report, instead of being thrown for want of a listener, which ends the thread.
    this.on('error', () => undefined);
  }

  override _read(): void {
    this.readMore();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.onDestroy();
    callback(error);
  }
}

/** Header fields by lower-case name, with no prototype: a field named `__proto__` or `constructor` is just a field. */
function fieldMap(): Record<string, string> {
  return Object.create(null) as Record<string, string>;
}

type State = 'head' | 'length' | 'close' | 'chunk-size' | 'chunk-data' | 'chunk-end' | 'trailers' | 'done';

interface Head {
  status: number;
  headers: Record<string, string>;
}

/**
 * Reads one response off a socket, read by read: the head line by line, then the body's bytes by its framing.
 * Lines may end anywhere between reads; what is kept of them between reads is copied (a read's buffer is reused).
 */
class ResponseParser {
  private state: State = 'head';
  private partialLine: Buffer | null = null;
  private headBytes = 0;
  private status = 0;
  private fields = fieldMap();
  /** Bytes left in a Content-Length body, or in the current chunk. */
  private left = 0;

  constructor(
    private readonly onHead: (head: Head) => void,
    private readonly trailers: Record<string, string>,
  ) {}

  get ended(): boolean {
    return this.state === 'done';
  }

  /** The head was read whole and passed: the state left 'head' for the body's framing. */
  get answered(): boolean {
    return this.state !== 'head';
  }

  /** The end of the connection: the end of a body framed by it, or an answer cut short. */
  get endsWithConnection(): boolean {
    return this.state === 'close';
  }

  /**
   * Takes one read; returns its body bytes copied into one buffer of their own (the read's buffer is refilled by
   * the next read), or null when it held none. Throws on a response that breaks HTTP/1.1.
   */
  take(data: Buffer): Buffer | null {
    let body: Buffer | null = null;
    let kept = 0;
    const keep = (start: number, end: number) => {
      // Sized by what is left of the read, which bounds its body bytes: one allocation per read, however many chunks.
      body ??= Buffer.allocUnsafe(data.length - start);
      kept += data.copy(body, kept, start, end);
    };
    let at = 0;
    while (at < data.length && this.state !== 'done') {
      if (this.state === 'length' || this.state === 'chunk-data') {
        const taken = Math.min(this.left, data.length - at);
        keep(at, at + taken);
        at += taken;
        this.left -= taken;
        if (this.left === 0) this.state = this.state === 'length' ? 'done' : 'chunk-end';
      } else if (this.state === 'close') {
        keep(at, data.length);
        at = data.length;
      } else {
        const end = data.indexOf(0x0a, at);
        const line = this.line(data, at, end);
        at = end === -1 ? data.length : end + 1;
        if (line !== null) this.takeLine(line);
      }
    }
    return body === null ? null : (body as Buffer).subarray(0, kept);
  }

  /** The line that ends at `end` (a LF; -1: not in this read, kept for the next), without its CR. */
  private line(data: Buffer, at: number, end: number): string | null {
    const piece = data.subarray(at, end === -1 ? data.length : end);
    const limit = this.state === 'chunk-size' || this.state === 'chunk-end' ? MAX_CHUNK_LINE_BYTES : maxHeaderSize;
    const kept = (this.partialLine?.length ?? 0) + piece.length;
    if (this.state === 'head' || this.state === 'trailers') {
      this.headBytes += piece.length + (end === -1 ? 0 : 1);
      if (this.headBytes > limit) throw new HttpError(`the app's ${this.state === 'head' ? 'headers' : 'trailers'} exceed ${limit} bytes`, 'HPE_HEADER_OVERFLOW');
    } else if (kept > limit) throw malformed('a chunk-size line too long');
    if (end === -1) {
      this.partialLine = this.partialLine ? Buffer.concat([this.partialLine, piece]) : Buffer.from(piece);
      return null;
    }
    const whole = this.partialLine ? Buffer.concat([this.partialLine, piece]) : piece;
    this.partialLine = null;
    const text = whole.toString('latin1');
    return text.endsWith('\r') ? text.slice(0, -1) : text;
  }

  private takeLine(line: string): void {
    if (this.state === 'head') return this.takeHeadLine(line);
    if (this.state === 'trailers') {
      if (line === '') this.state = 'done';
      else this.addField(this.trailers, line);
      return;
    }
    if (this.state === 'chunk-end') {
      if (line !== '') throw malformed('a chunk longer than its size');
      this.state = 'chunk-size';
      return;
    }
    // chunk-size: hexadecimal, then extensions after ";" that mean nothing here.
    const size = /^([0-9a-f]{1,13})[ \t]*(?:;.*)?$/i.exec(line);
    if (!size) throw malformed(`a chunk size of "${line.slice(0, 40)}"`);
    this.left = Number.parseInt(size[1], 16);
    if (this.left > 0) this.state = 'chunk-data';
    else {
      this.state = 'trailers';
      this.headBytes = 0; // the trailers have the headers' limit, counted anew
    }
  }

  private takeHeadLine(line: string): void {
    if (this.status === 0) {
      const statusLine = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(line);
      if (!statusLine) throw malformed(`a status line of "${line.slice(0, 80)}"`);
      this.status = Number(statusLine[1]);
      return;
    }
    if (line !== '') return this.addField(this.fields, line);
    // An interim answer (100 Continue, 103 Early Hints) comes before the real one.
    if (this.status >= 100 && this.status < 200) {
      if (this.status === 101) throw malformed('an unasked protocol switch (101)');
      this.status = 0;
      this.fields = fieldMap();
      this.headBytes = 0;
      return;
    }
    const head = { status: this.status, headers: this.fields };
    this.state = this.framing(head);
    this.onHead(head);
  }

  /** How the body ends (RFC 9112, 6.3). */
  private framing({ status, headers }: Head): State {
    if (status === 204 || status === 304) return 'done';
    const transferEncoding = headers['transfer-encoding'];
    const contentLength = headers['content-length'];
    if (transferEncoding !== undefined) {
      if (contentLength !== undefined) throw malformed('both Content-Length and Transfer-Encoding');
      if (!CHUNKED_LAST.test(transferEncoding)) throw malformed(`Transfer-Encoding "${transferEncoding.slice(0, 80)}" does not end in chunked`);
      return 'chunk-size';
    }
    if (contentLength === undefined) return 'close';
    if (!/^\d{1,15}$/.test(contentLength)) throw malformed(`Content-Length "${contentLength.slice(0, 80)}"`);
    this.left = Number(contentLength);
    return this.left === 0 ? 'done' : 'length';
  }

  /** One "name: value" line; a repeated field is joined with ", " like Node does, except a Content-Length that disagrees. */
  private addField(fields: Record<string, string>, line: string): void {
    // No pattern around the value: trimming it with one would take time that grows with the square of its blanks.
    const field = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):/.exec(line);
    if (!field) throw malformed(`a header line of "${line.slice(0, 80)}"`);
    const name = field[1].toLowerCase();
    const value = line.slice(field[0].length).trim();
    const earlier = fields[name];
    if (earlier === undefined) fields[name] = value;
    else if (name === 'content-length') {
      if (earlier !== value) throw malformed('two different Content-Length headers');
    } else fields[name] = `${earlier}, ${value}`;
  }
}

/**
 * Sends one request and resolves once the answer's head came, its body to stream: the shape of axios' answer,
 * so that requestApp (statuses, errors, the checks on headers) is the same for every contract request.
 */
export function streamingRequest(config: AxiosRequestConfig): Promise<AxiosResponse> {
  if (config.responseType !== 'stream' || config.maxRedirects !== 0 || config.timeout) {
    throw new Error('streamingRequest streams one answer, follows no redirect and keeps no timer of its own');
  }
  const url = new URL(config.url!);
  const payload = config.data === undefined ? '' : JSON.stringify(config.data);
  const head = requestHead(config.method ?? 'GET', url, { ...(config.headers as Record<string, string>), ...(payload ? { 'Content-Type': 'application/json' } : {}) }, payload);
  const signal = config.signal as AbortSignal | undefined;
  signal?.throwIfAborted();

  const tls = url.protocol === 'https:';
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(url.port || (tls ? 443 : 80));
  return new Promise((resolve, reject) => {
    const body = new StreamedBody(
      () => socket.resume(),
      () => stop(),
    );
    const parser = new ResponseParser((answer) => resolve({ status: answer.status, headers: answer.headers, data: body } as AxiosResponse), body.trailers);
    const stop = () => {
      signal?.removeEventListener('abort', abort);
      socket.destroy();
    };
    const fail = (error: Error) => {
      stop();
      if (parser.answered) body.destroy(error);
      else reject(error);
    };
    const abort = () => fail(signal!.reason as Error);
    /** One read: its body bytes go out in one copy; false (the body's buffer is full) pauses the socket. */
    const read = (data: Buffer): boolean => {
      let piece: Buffer | null;
      try {
        piece = parser.take(data);
      } catch (error) {
        fail(error as Error);
        return false;
      }
      const more = piece === null || body.push(piece);
      if (parser.ended) {
        body.push(null);
        stop();
      }
      return more;
    };

    // A plain socket reads into one reused buffer; TLS decrypts into buffers of its own, read as they come.
    const socket = tls
      ? connectTls({ host, port, servername: isIP(host) ? undefined : host }).on('data', (data: Buffer) => read(data) || socket.pause())
      : connectTcp({ host, port, onread: { buffer: Buffer.allocUnsafe(READ_BUFFER_BYTES), callback: (bytes, buffer) => read(buffer.subarray(0, bytes) as Buffer) } });
    signal?.addEventListener('abort', abort, { once: true });
    socket.on('error', fail);
    socket.on('end', () => {
      if (parser.ended) return;
      if (!parser.endsWithConnection) {
        return fail(new HttpError(parser.answered ? 'the app closed the connection before the end of the body' : 'socket hang up', 'ECONNRESET'));
      }
      body.push(null);
      stop();
    });
    socket.write(head);
  });
}

/** One request's head and body; a field value that could end the line is refused, as Node refuses it. */
function requestHead(method: string, url: URL, fields: Record<string, string>, payload: string): string {
  const lines = [`${method} ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`];
  for (const [name, value] of Object.entries({ ...fields, 'Content-Length': String(Buffer.byteLength(payload)), Connection: 'close' })) {
    if (/[\r\n\0]/.test(String(value))) throw new HttpError(`the ${name} header holds a line break or NUL`, 'ERR_INVALID_CHAR');
    lines.push(`${name}: ${value}`);
  }
  return `${lines.join('\r\n')}\r\n\r\n${payload}`;
}
