import { ChildProcess, spawn, SpawnOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { constants } from 'node:os';

export interface Started {
  child: ChildProcess;
  output: () => string;
  stop(): Promise<number | null>;
}

/** Starts a process and collects what it prints; stop() sends SIGTERM and waits for its exit. */
export function start(command: string, args: string[], options: SpawnOptions = {}): Started {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return {
    child,
    output: () => output,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/**
 * Waits until `url` answers 200 (the service is up) or gives up after `timeoutMs`, or as soon as `hopeless` says
 * why waiting is pointless (e.g. the process could not bind its port).
 */
export async function waitForHttp(url: string, timeoutMs = 20_000, hopeless: () => string | null = () => null): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fetch(url).then((r) => r.ok, () => false)) return;
    const reason = hopeless();
    if (reason) throw new Error(`${url} will not answer: ${reason}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not answer within ${timeoutMs} ms`);
}

/** Ports this file has handed out (each file of the suite runs in a process of its own). */
let handedOut = 0;

/**
 * A port for a service a test starts as a child process: below the ephemeral range (32768+, where every outgoing
 * connection of the suite takes its local port), in a block of 400 of this vitest worker's own (VITEST_POOL_ID:
 * files running at the same time never draw the same port), and free when asked (one an earlier file of the same
 * worker still holds is passed over).
 */
export async function servicePort(): Promise<number> {
  const block = 20000 + (Number(process.env.VITEST_POOL_ID ?? process.pid) % 30) * 400;
  for (;;) {
    const port = block + (handedOut++ % 400);
    if (await isFree(port)) return port;
  }
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer()
      .once('error', () => resolve(false))
      .listen(port, '0.0.0.0', () => probe.close(() => resolve(true)));
  });
}

/** Runs a command to its end; resolves with its exit code and output. */
export async function run(command: string, args: string[], options: SpawnOptions = {}): Promise<{ code: number | null; output: string }> {
  const started = start(command, args, options);
  const code = await new Promise<number | null>((resolve) => started.child.once('close', resolve));
  return { code, output: started.output() };
}

/**
 * How a child process of this one ended, read from /proc while it is a zombie (a dead worker thread's
 * children stay unreaped): 'running', the signal that killed it ('SIGKILL'…), `exit N`, or 'gone' when reaped.
 */
export function processState(pid: number): string {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return 'gone';
  }
  // Fields after the command name (which may hold spaces): 3 = state, 52 = wait status.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  if (fields[0] !== 'Z') return 'running';
  const status = Number(fields[52 - 3]);
  return status & 0x7f ? (signalNames[status & 0x7f] ?? `signal ${status & 0x7f}`) : `exit ${status >> 8}`;
}

const signalNames: Record<number, string> = Object.fromEntries(Object.entries(constants.signals).map(([name, number]) => [number, name]));
