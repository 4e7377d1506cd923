/** Retries within 5 s, three tries in all: quick enough to alert, patient enough for a blip. */
const RETRY_DELAYS_MS = [1000, 3000];
const TIMEOUT_MS = 10_000;

/**
 * One HTTP POST with retries, for webhooks and pings alike: a notification must never hang or fail a
 * run, only report trouble. Resolves with null when delivered, or with what went wrong on the last try.
 */
export async function deliver(url: string, body: string, contentType: string): Promise<string | null> {
  let problem = '';
  for (let attempt = 0; attempt <= RETRY_DELAYS_MS.length; attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, RETRY_DELAYS_MS[attempt - 1]));
    try {
      const response = await fetch(url, { method: 'POST', headers: { 'Content-Type': contentType }, body, redirect: 'manual', signal: AbortSignal.timeout(TIMEOUT_MS) });
      await response.body?.cancel();
      if (response.ok) return null;
      problem = `answered ${response.status}`;
    } catch (error) {
      problem = (error as Error).name === 'TimeoutError' ? `no answer within ${TIMEOUT_MS / 1000} s` : String((error as Error & { cause?: Error }).cause?.message ?? (error as Error).message);
    }
  }
  return `${problem} (after ${RETRY_DELAYS_MS.length + 1} tries)`;
}
