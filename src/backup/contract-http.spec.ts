import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import axios, { type AxiosRequestConfig, type AxiosResponse } from 'axios';
import { describe, expect, it } from 'vitest';
import { contractUrl, requestApp } from './contract-http';

describe('contractUrl', () => {
  it.each([
    ['http://billing:8000', 'http://billing:8000/backup/capabilities'],
    ['http://billing:8000/', 'http://billing:8000/backup/capabilities'],
    ['https://apps.internal/billing', 'https://apps.internal/billing/backup/capabilities'],
    ['https://apps.internal/billing/', 'https://apps.internal/billing/backup/capabilities'],
    ['https://apps.internal/billing//', 'https://apps.internal/billing/backup/capabilities'],
    ['https://apps.internal/billing?tenant=a', 'https://apps.internal/billing/backup/capabilities?tenant=a'],
    ['http://billing:8000/#top', 'http://billing:8000/backup/capabilities'],
  ])('puts the contract path under %s', (base, expected) => {
    expect(contractUrl(base, '/backup/capabilities')).toBe(expected);
  });
});

describe('requestApp headers', () => {
  async function sent(endpoint: { url: string; token: string; runId?: number }): Promise<AxiosRequestConfig> {
    let config: AxiosRequestConfig | undefined;
    await requestApp(async (given) => ((config = given), { status: 200, data: {}, headers: {} } as AxiosResponse), 'capabilities', endpoint, {
      method: 'GET',
      path: '/backup/capabilities',
      responseType: 'json',
    });
    return config!;
  }

  it('names this service and its version, the token, and the run when there is one', async () => {
    const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
    const config = await sent({ url: 'http://app:8000/prefix/', token: 't0k', runId: 42 });
    expect(config.url).toBe('http://app:8000/prefix/backup/capabilities');
    expect(config.headers).toMatchObject({ 'User-Agent': `app-orquestador/${version}`, 'X-Backup-Run-Id': '42', Authorization: 'Bearer t0k' });
  });

  it('sends no run id outside a run (a connection check)', async () => {
    const config = await sent({ url: 'http://app:8000', token: 't0k' });
    expect(config.headers).not.toHaveProperty('X-Backup-Run-Id');
  });
});

describe('requestApp and HTTP_PROXY', () => {
  it('reaches the app directly even when HTTP_PROXY names a proxy (here one that is not there)', async () => {
    const app = createServer((_request, response) => response.end('{"versions":["v1"]}')).listen(0, '127.0.0.1');
    await once(app, 'listening');
    const saved = process.env.HTTP_PROXY;
    process.env.HTTP_PROXY = 'http://127.0.0.1:9';
    try {
      const url = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
      const response = await requestApp((config) => axios.request(config), 'capabilities', { url, token: 't0k' }, {
        method: 'GET',
        path: '/backup/capabilities',
        responseType: 'json',
      });
      expect(response.data).toEqual({ versions: ['v1'] });
    } finally {
      if (saved === undefined) delete process.env.HTTP_PROXY;
      else process.env.HTTP_PROXY = saved;
      app.close();
    }
  });
});
