import type { Readable } from 'node:stream';
import { HttpService } from '@nestjs/axios';
import { Injectable } from '@nestjs/common';
import { printable } from '../common/printable';
import { AppConfig } from '../config/app-config';
import { BackupFailure } from './backup-failure';
import { AppVersion, appVersionOf } from './app-version';
import { parseSelftest, Selftest } from './selftest';
import { AppEndpoint, CONTRACT_VERSION, HttpClient, requestApp } from './contract-http';
import { english } from '../common/i18n';

/** Capabilities are shown in every run's log: an app's words there are kept short. */
const MAX_TYPE = 100;
const MAX_VERSIONS = 10;
const MAX_VERSION = 20;

export interface Capabilities {
  versions: string[];
  type?: string;
  extension?: string;
  /** The app accepts POST /backup/import. */
  restore: boolean;
  /** What the app says of itself (`app`: name, version, schemaVersion); null when it says nothing. */
  app: AppVersion | null;
}

/** Contract v1 as the service speaks it: capabilities and imports (exports stream on a worker thread: ExportTransfer). */
@Injectable()
export class ContractClient {
  constructor(
    private readonly http: HttpService,
    private readonly config: AppConfig,
  ) {}

  private readonly send: HttpClient = (config) => this.http.axiosRef.request(config);

  /** Fails unless the app answers within the connect timeout with capabilities that offer v1. */
  async capabilities(app: AppEndpoint, signal?: AbortSignal): Promise<Capabilities> {
    const response = await requestApp(this.send, 'capabilities', app, {
      method: 'GET',
      signal,
      path: '/backup/capabilities',
      timeout: this.config.backup.connectTimeoutMs,
      responseType: 'json',
    });
    const body = response.data as { versions?: unknown; version?: unknown; type?: unknown; extension?: unknown; restore?: unknown; app?: unknown };
    if (typeof body !== 'object' || body === null) {
      throw new BackupFailure('capabilities', english('failure.notJsonObject'));
    }
    const offered = Array.isArray(body.versions) ? body.versions : typeof body.version === 'string' ? [body.version] : [];
    const versions = offered.slice(0, MAX_VERSIONS).map((version) => printable(String(version), MAX_VERSION));
    const capabilities = {
      versions,
      type: typeof body.type === 'string' ? printable(body.type, MAX_TYPE) : undefined,
      extension: typeof body.extension === 'string' ? body.extension : undefined,
      restore: body.restore === true,
      app: appVersionOf(body.app),
    };
    if (!versions.includes(CONTRACT_VERSION)) {
      throw Object.assign(
        new BackupFailure('capabilities', english('failure.contractVersions', { versions: versions.join(', '), needed: CONTRACT_VERSION })),
        { capabilities },
      );
    }
    return capabilities;
  }

  /** Asks a drill instance for its selftest; it may take as long as BACKUP_IDLE_TIMEOUT_S to check its data. */
  async selftest(app: AppEndpoint, signal: AbortSignal): Promise<Selftest> {
    const response = await requestApp(this.send, 'selftest', app, {
      method: 'GET',
      path: '/backup/selftest',
      timeout: this.config.backup.idleTimeoutMs,
      responseType: 'json',
      signal,
    });
    return parseSelftest(response.data);
  }

  /** Streams a backup into the app's import; resolves once the app answered 2xx. */
  async import(app: AppEndpoint, body: Readable, recorded: { bytes: number; sha256: string }, signal: AbortSignal): Promise<void> {
    await requestApp(this.send, 'import', app, {
      method: 'POST',
      path: '/backup/import',
      data: body,
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(recorded.bytes), 'X-Backup-Sha256': recorded.sha256 },
      responseType: 'text',
      signal,
    });
  }
}
