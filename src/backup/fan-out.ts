import { PassThrough, Writable } from 'node:stream';

/**
 * One stream written to several readers (one `rclone rcat` per destination) at the pace of the slowest: a
 * chunk is taken once every live branch has room for it, so memory stays at a buffer per branch whatever
 * the speeds. A branch that fails (its reader destroys it) or, with `stallMs`, keeps the others waiting that
 * long is cut off alone; the rest go on. Only when no branch is left does the write fail, which stops the
 * source. An error of the source (a short or corrupt export) destroys every branch with it, so that no
 * reader takes the end of its input for a clean end of file.
 */
export class FanOut extends Writable {
  readonly branches: PassThrough[];

  constructor(
    count: number,
    private readonly stallMs: number | null,
    private readonly stalled: () => Error,
    private readonly noneLeft: () => Error,
  ) {
    super({ highWaterMark: 1 << 20 });
    // A branch destroyed before its reader listens (rclone not started yet) must not crash the thread: the
    // reader finds it destroyed and takes its error (see rcat).
    this.branches = Array.from({ length: count }, () => new PassThrough({ highWaterMark: 1 << 20 }).on('error', () => undefined));
  }

  private live(): PassThrough[] {
    return this.branches.filter((branch) => !branch.destroyed);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const live = this.live();
    if (live.length === 0) return callback(this.noneLeft());
    const full = live.filter((branch) => !branch.write(chunk));
    if (full.length === 0) return callback();
    void Promise.all(full.map((branch) => this.roomIn(branch))).then(() => callback(this.live().length === 0 ? this.noneLeft() : null));
  }

  override _final(callback: (error?: Error | null) => void): void {
    const live = this.live();
    if (live.length === 0) return callback(this.noneLeft());
    for (const branch of live) branch.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // pipeline() destroys this stream once it finished too: branches ended then keep their last bytes for rclone.
    for (const branch of this.branches) {
      if (error || !branch.writableEnded) branch.destroy(error ?? new Error('the stream into the destinations closed early'));
    }
    callback(error);
  }

  /** Resolves when the branch drained or was destroyed; a branch that takes longer than stallMs is cut off. */
  private roomIn(branch: PassThrough): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.stallMs === null ? undefined : setTimeout(() => branch.destroy(this.stalled()), this.stallMs);
      const done = () => {
        clearTimeout(timer);
        branch.off('drain', done).off('close', done);
        resolve();
      };
      branch.once('drain', done).once('close', done);
    });
  }
}
