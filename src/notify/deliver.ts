/** One HTTP POST with retries: a notification must never hang or fail a backup, only report trouble. */
export interface Delivery {
  url: string;
  body: string;
  contentType: string;
  /** Waits before each retry; its length + 1 is the number of tries. */
  retryDelaysMs: number[];
  timeoutMs: number;
}

/** Resolves with null when delivered, or with what went wrong on the last try. */
export async function deliver({ url, body, contentType, retryDelaysMs, timeoutMs }: Delivery): Promise<string | null> {
  let problem = '';
  for (let attempt = 0; attempt <= retryDelaysMs.length; attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, retryDelaysMs[attempt - 1]));
    try {
      const response = await fetch(url, { method: 'POST', headers: { 'Content-Type': contentType }, body, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
      await response.body?.cancel();
      if (response.ok) return null;
      problem = `answered ${response.status}`;
    } catch (error) {
      problem = (error as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs / 1000} s` : String((error as Error & { cause?: Error }).cause?.message ?? (error as Error).message);
    }
  }
  return `${problem} (after ${retryDelaysMs.length + 1} tries)`;
}
