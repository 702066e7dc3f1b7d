// Paces the generator's dispatches: sizes each dispatch to a target duration and waits for
// it mostly asleep.
//
// Why sleep: while any of its promises is pending (onSubmittedWorkDone, mapAsync), Dawn's
// Node binding (webgpu 0.6) polls for completion and keeps one CPU core busy. On a
// two-core machine running lavapipe that core is half the GPU. So the host sleeps for most
// of the dispatch's expected duration before it requests completion. On a browser or a
// real GPU the same wait only adds a timer.

/** Dispatch length aimed at: long enough to hide the submit overhead, short enough for a prompt abort. */
export const TARGET_DISPATCH_MS = 50;
/** Steps of the first dispatch of a kind, before any duration was measured. */
const CALIBRATION_STEPS = 4;
/**
 * Share of the expected duration spent asleep; the rest is polled. An estimate up to 11%
 * too long therefore still keeps the GPU busy; a longer one leaves it idle until the wake-up.
 */
const SLEEP_FRACTION = 0.9;
/** Weight of the newest measurement in the running estimate. */
const SMOOTHING = 0.3;
/** A wait shorter than this after the wake-up means the dispatch had already finished. */
const FINISHED_BEFORE_WAKE_MS = 0.5;
/** Factor applied to the estimate after such a wait, whose measurement is only an upper bound. */
const SHRINK = 0.9;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Timing of one wait: when the host woke up and when the queue was found finished (performance.now()). */
export interface QueueWait {
  submittedAt: number;
  wokeAt: number;
  doneAt: number;
}

/** Measured milliseconds per step of one kind of dispatch (variant and mode). */
export class StepClock {
  private msPerStep: number | null = null;

  /** Steps for the next dispatch: about TARGET_DISPATCH_MS of work, within [1, maxSteps]. */
  stepsFor(maxSteps: number): number {
    if (this.msPerStep === null) return Math.min(CALIBRATION_STEPS, maxSteps);
    return Math.max(1, Math.min(maxSteps, Math.round(TARGET_DISPATCH_MS / this.msPerStep)));
  }

  expectedMs(steps: number): number {
    return this.msPerStep === null ? 0 : this.msPerStep * steps;
  }

  record(steps: number, wait: QueueWait): void {
    if (steps === 0) return;
    const measured = (wait.doneAt - wait.submittedAt) / steps;
    if (this.msPerStep === null) {
      this.msPerStep = measured;
    } else if (wait.doneAt - wait.wokeAt < FINISHED_BEFORE_WAKE_MS && wait.wokeAt > wait.submittedAt) {
      // The dispatch ended while the host slept, some time before `measured`.
      this.msPerStep = Math.min(this.msPerStep, measured) * SHRINK;
    } else {
      this.msPerStep = (1 - SMOOTHING) * this.msPerStep + SMOOTHING * measured;
    }
  }
}

/**
 * Waits until the queue has finished everything submitted, sleeping through most of the
 * `expectedMs` counted from `submittedAt` (performance.now() milliseconds).
 */
export async function waitForQueue(queue: GPUQueue, submittedAt: number, expectedMs: number): Promise<QueueWait> {
  const asleepMs = SLEEP_FRACTION * expectedMs - (performance.now() - submittedAt);
  if (asleepMs >= 1) await sleep(asleepMs);
  const wokeAt = performance.now();
  await queue.onSubmittedWorkDone();
  const doneAt = performance.now();
  return { submittedAt, wokeAt, doneAt };
}
