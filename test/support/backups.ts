import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { appInput, Orchestrator, waitFor } from './orchestrator';

export interface RunBody {
  id: number;
  appId: number;
  status: string;
  trigger: string;
  bytes: number;
  sha256: string | null;
  remotePath: string | null;
  error: string | null;
  log: string[];
  queuedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export async function registerApp(orchestrator: Orchestrator, overrides: Record<string, unknown>): Promise<{ id: number; name: string }> {
  return (await orchestrator.api.post('/api/apps', appInput(overrides)).expect(201)).body;
}

/** Starts a manual run and waits for its end. */
export async function runBackup(orchestrator: Orchestrator, appId: number): Promise<RunBody> {
  const { body } = await orchestrator.api.post(`/api/apps/${appId}/run`).expect(202);
  return waitForRunEnd(orchestrator, body.runId);
}

export function waitForRunEnd(orchestrator: Orchestrator, runId: number): Promise<RunBody> {
  return waitFor(async () => {
    const run: RunBody = (await orchestrator.api.get(`/api/runs/${runId}`).expect(200)).body;
    return ['queued', 'running'].includes(run.status) ? undefined : run;
  });
}

/** The file names in a folder of the remote, read from the disk behind it. */
export function filesIn(folder: string): string[] {
  try {
    return readdirSync(folder).sort();
  } catch {
    return [];
  }
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Puts files in the remote's folder as if earlier runs or people had left them there. */
export function seed(folder: string, names: string[]): void {
  mkdirSync(folder, { recursive: true });
  for (const name of names) writeFileSync(join(folder, name), `seeded ${name}`);
}

export function expectFailed(run: RunBody, step: string, text: string | RegExp): void {
  expect(run.status).toBe('failed');
  expect(run.error).toMatch(new RegExp(`^${step}: `));
  expect(run.error).toMatch(text);
  expect(run.finishedAt).not.toBeNull();
}
