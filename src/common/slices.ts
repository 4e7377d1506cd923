/** Work between two yields to the event loop in passes over many items. */
const SLICE_MS = 10;

/**
 * Passes side by side (registering jobs, pruning, a dashboard's count) take turns: one resumes per turn of
 * the event loop, with SLICE_MS to spend. Each yielding with setImmediate on its own, all would resume in the
 * same turn and hold the loop for the sum of their slices.
 */
const waiting: (() => void)[] = [];
let sliceStart = performance.now();

function resumeNext(): void {
  sliceStart = performance.now();
  waiting.shift()!();
  if (waiting.length > 0) setImmediate(resumeNext);
}

/** Yields to the event loop once the current slice is spent, resuming in a turn of its own. */
export async function yieldWhenDue(): Promise<void> {
  if (performance.now() - sliceStart < SLICE_MS) return;
  await new Promise<void>((resume) => {
    waiting.push(resume);
    if (waiting.length === 1) setImmediate(resumeNext);
  });
}

/**
 * Calls `work` for each item (awaiting it when it returns a promise), yielding when due; stops when
 * `stopped()` says so. Awaiting a better-sqlite3 query does not yield (it answers synchronously): without
 * this, a pass of thousands of small queries holds the event loop for seconds.
 */
export async function forEachInSlices<T>(items: Iterable<T>, work: (item: T) => unknown, stopped: () => boolean = () => false): Promise<void> {
  for (const item of items) {
    if (stopped()) return;
    const result = work(item);
    if (result instanceof Promise) await result;
    await yieldWhenDue();
  }
}
