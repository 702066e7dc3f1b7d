// The busy and destroyed checks that both generators (generator.ts, sashimi-generator.ts)
// run on every public call, so that an overlapping call or a call after destroy() fails
// with the same message instead of corrupting the GPU state.

/** Tracks whether a generator is running a call or has been destroyed. */
export class CallGuard {
  private busy = false;
  private destroyed = false;

  /** Throws when destroy() was called or a step() or generate() call is still running. */
  check(): void {
    if (this.destroyed) throw new Error('generator: destroy() was called; create a new generator.');
    if (this.busy) throw new Error('generator: a step() or generate() call is still running; await it first.');
  }

  /** Runs `body` as the only call in flight, after check(). */
  async exclusive<T>(body: () => Promise<T>): Promise<T> {
    this.check();
    this.busy = true;
    try {
      return await body();
    } finally {
      this.busy = false;
    }
  }

  /** Marks the generator destroyed; returns false when it already was, so destroy() runs once. */
  destroy(): boolean {
    if (this.destroyed) return false;
    this.destroyed = true;
    return true;
  }
}
