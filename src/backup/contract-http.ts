import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { AxiosError, AxiosRequestConfig, AxiosResponse } from 'axios';
import { printable } from '../common/printable';
import { BackupFailure, BackupStep } from './backup-failure';
import { english } from '../common/i18n';

// Contract v1 over HTTP, without Nest: the service's ContractClient and the export's worker thread
// (export-transfer.worker.ts) both speak it through these functions.

export const CONTRACT_VERSION = 'v1';
const ERROR_BODY_BYTES = 1024;
/** Names this service in the app's access log. package.json sits two folders up from both src/backup and dist/backup. */
const USER_AGENT = `app-orquestador/${JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')).version}`;

export interface AppEndpoint {
  url: string;
  token: string;
  /** Sent as X-Backup-Run-Id, so the app can tie its own logs to the run; absent outside a run (a connection check). */
  runId?: number;
}

/** The contract path under the app's URL: a path prefix is kept whether or not it ends in "/", and so is a query. */
export function contractUrl(base: string, path: string): string {
  const url = new URL(base);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${path}`;
  url.hash = '';
  return url.toString();
}

export interface ExportStream {
  body: Readable;
  contentLength?: number;
  /** From the X-Backup-Sha256 header. */
  sha256?: string;
  /** `Trailer: X-Backup-Sha256` announced the checksum after the body. */
  trailer: boolean;
  contentDisposition?: string;
}

/** How an export's checksum came, as the run log says it. */
export type ChecksumSource = 'header' | 'trailer' | 'header and trailer' | 'none';

export function checksumSource(dump: Pick<ExportStream, 'sha256' | 'trailer'>): ChecksumSource {
  if (dump.sha256 && dump.trailer) return 'header and trailer';
  return dump.sha256 ? 'header' : dump.trailer ? 'trailer' : 'none';
}

const SHA256 = /^[a-f0-9]{64}$/i;
const CHECKSUM_FIELD = 'x-backup-sha256';

/**
 * The X-Backup-Sha256 trailer of an export that announced one, read once its body ended (the trailers are parsed
 * by then); throws a BackupFailure when it is missing, malformed or contradicts the header.
 */
export function trailingSha256(dump: ExportStream): string {
  const value = (dump.body as Readable & { trailers?: Record<string, string | undefined> }).trailers?.[CHECKSUM_FIELD];
  if (value === undefined) throw new BackupFailure('export', english('failure.trailerMissing'));
  if (!SHA256.test(value)) throw new BackupFailure('export', english('failure.badShaTrailer', { value: printable(value, 100) }));
  if (dump.sha256 !== undefined && dump.sha256.toLowerCase() !== value.toLowerCase()) {
    throw new BackupFailure('export', english('failure.headerTrailerDisagree', { header: dump.sha256, trailer: value }));
  }
  return value;
}

/** Sends one request: the service's HttpService, or the export's own streaming client on its worker thread. */
export type HttpClient = (config: AxiosRequestConfig) => Promise<AxiosResponse>;

export interface AppRequest {
  method: 'GET' | 'POST';
  path: string;
  data?: unknown;
  headers?: Record<string, string>;
  timeout?: number;
  responseType: 'json' | 'stream' | 'text';
  signal?: AbortSignal;
}

/** One request to an app as contract v1 wants it; a failure or an answer other than 2xx becomes a BackupFailure of `step`. */
export async function requestApp(http: HttpClient, step: BackupStep, app: AppEndpoint, options: AppRequest): Promise<AxiosResponse> {
  const url = contractUrl(app.url, options.path);
  let response: AxiosResponse;
  try {
    response = await http({
      url,
      method: options.method,
      data: options.data,
      timeout: options.timeout,
      signal: options.signal,
      responseType: options.responseType,
      headers: {
        Authorization: `Bearer ${app.token}`,
        Accept: 'application/json, application/octet-stream',
        'Accept-Encoding': 'identity',
        'User-Agent': USER_AGENT,
        ...(app.runId === undefined ? {} : { 'X-Backup-Run-Id': String(app.runId) }),
        ...options.headers,
      },
      maxBodyLength: Infinity,
      // The token must never follow a redirect to another host.
      maxRedirects: 0,
      // Apps sit on the service's own network: an HTTP_PROXY set for the way out must not carry their tokens and
      // dumps (the export's own client never takes a proxy either, so every contract request goes the same way).
      proxy: false,
      decompress: false,
      validateStatus: () => true,
      maxContentLength: options.responseType === 'json' ? 1024 * 1024 : -1,
    });
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason;
    throw new BackupFailure(step, describeRequestError(error, url, options.timeout));
  }
  if (response.status >= 200 && response.status < 300) return response;
  const body =
    options.responseType === 'stream' ? await readStart(response.data as Readable, options.signal) : stringify(response.data);
  throw new BackupFailure(step, describeStatus(response, body));
}

/** Starts the export; the body is handed over unread, for the caller to stream. */
export async function openExport(http: HttpClient, app: AppEndpoint, signal: AbortSignal): Promise<ExportStream> {
  const response = await requestApp(http, 'export', app, {
    method: 'POST',
    path: '/backup/export',
    data: { version: CONTRACT_VERSION },
    // An app that learns the checksum only at the end (a streamed pg_dump) may send it as a trailer.
    headers: { TE: 'trailers' },
    responseType: 'stream',
    signal,
  });
  const length = response.headers['content-length'];
  const sha256 = response.headers[CHECKSUM_FIELD];
  const trailer = String(response.headers.trailer ?? '').split(',').some((field) => field.trim().toLowerCase() === CHECKSUM_FIELD);
  const refuse = (message: string) => {
    (response.data as Readable).destroy();
    return new BackupFailure('export', message);
  };
  // A body that ends when the connection closes looks the same complete or cut off half-way.
  if (length === undefined && !/\bchunked\b/i.test(String(response.headers['transfer-encoding'] ?? ''))) {
    throw refuse(english('failure.noLength'));
  }
  if (Number(length) === 0) throw refuse(english('failure.zeroLength'));
  if (sha256 !== undefined && !SHA256.test(String(sha256))) {
    throw refuse(english('failure.badShaHeader', { value: printable(String(sha256), 100) }));
  }
  return {
    body: response.data as Readable,
    contentLength: length === undefined ? undefined : Number(length),
    sha256: sha256 === undefined ? undefined : String(sha256),
    trailer,
    contentDisposition: response.headers['content-disposition'] as string | undefined,
  };
}

function describeStatus(response: AxiosResponse, body: string): string {
  const status = response.status;
  const said = body.trim() ? `: ${printable(body.trim(), ERROR_BODY_BYTES)}` : '';
  if (status === 401 || status === 403) return english('failure.answeredAuth', { status, said });
  if (status === 409) return english('failure.answeredBusy', { said });
  if (status === 503) return english('failure.answeredUnavailable', { said });
  if (status === 422) return english('failure.answeredRefused', { said });
  if (status >= 300 && status < 400) {
    return english('failure.answeredRedirect', { status, location: printable(String(response.headers.location ?? '(no location)'), 200) });
  }
  return english('failure.answered', { status, said });
}

/** OpenSSL's codes (passed through by Node) for a certificate chain that leads to no CA this process trusts. */
const UNTRUSTED_CERTIFICATE = /^(?:UNABLE_TO_GET_ISSUER_CERT|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT)$/;

function describeRequestError(error: unknown, url: string, timeoutMs?: number): string {
  const code = (error as AxiosError).code;
  const host = new URL(url).host;
  if (code === 'ECONNABORTED' || code === 'ETIMEDOUT') {
    return english('failure.noAnswer', { host, seconds: (timeoutMs ?? 0) / 1000 });
  }
  if (code === 'ECONNREFUSED') return english('failure.connectionRefused', { host });
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return english('failure.hostNotFound', { host });
  if (code === 'ECONNRESET') return english('failure.connectionReset', { host });
  if (code && UNTRUSTED_CERTIFICATE.test(code)) return english('failure.certificateUntrusted', { host, code, reason: (error as Error).message });
  if (code && /^(?:CERT_|ERR_TLS_CERT_)/.test(code)) return english('failure.certificateRefused', { host, code, reason: (error as Error).message });
  return english('failure.requestFailed', { host, reason: (error as Error).message });
}

function stringify(data: unknown): string {
  return (typeof data === 'string' ? data : JSON.stringify(data) ?? '').slice(0, ERROR_BODY_BYTES);
}

/** The first KB of an error body: enough to show what the app said, without reading a dump. */
async function readStart(body: Readable, signal?: AbortSignal): Promise<string> {
  signal?.addEventListener('abort', () => body.destroy(), { once: true });
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      chunks.push(chunk as Buffer);
      size += (chunk as Buffer).length;
      if (size >= ERROR_BODY_BYTES) break;
    }
  } catch {
    // What was read so far is still worth showing.
  } finally {
    body.destroy();
  }
  return Buffer.concat(chunks).subarray(0, ERROR_BODY_BYTES).toString('utf8');
}
