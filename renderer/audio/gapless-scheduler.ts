// Start times for chunks played back to back on an AudioContext clock.
//
// Start times are computed from an integer count of samples since an anchor time, not by
// adding chunk durations in floating point, so chunk k starts exactly where chunk k-1
// ends however many chunks have played. When a chunk arrives after the previous one has
// finished (an underrun), the stream is re-anchored `leadSec` ahead of the current time:
// the gap is audible, but later chunks stay gapless again.

export interface ScheduledChunk {
  /** AudioContext time in seconds at which to call `AudioBufferSourceNode.start`. */
  startSec: number;
  /** When the chunk ends, on the same clock. */
  endSec: number;
  /** True when the stream was re-anchored because the chunk came too late. */
  underrun: boolean;
}

export class GaplessScheduler {
  private anchorSec: number | null = null;
  private scheduledSamples = 0;
  private underrunCount = 0;

  /**
   * @param sampleRateHz rate of the chunks' samples.
   * @param leadSec how far ahead of the current time the first chunk (and every chunk after
   *   an underrun) starts. It must cover the delay until the clock reaches that start,
   *   because samples scheduled in the past are cut.
   */
  constructor(
    readonly sampleRateHz: number,
    readonly leadSec = 0.1,
  ) {
    if (!(sampleRateHz > 0)) throw new RangeError(`GaplessScheduler: sampleRateHz must be positive, got ${sampleRateHz}`);
    if (!(leadSec >= 0)) throw new RangeError(`GaplessScheduler: leadSec must be at least 0, got ${leadSec}`);
  }

  /** Schedules a chunk of `frameCount` samples, given the context's `currentTime`. */
  schedule(nowSec: number, frameCount: number): ScheduledChunk {
    if (!Number.isInteger(frameCount) || frameCount < 0) {
      throw new RangeError(`GaplessScheduler.schedule: frameCount must be a non-negative integer, got ${frameCount}`);
    }

    let underrun = false;
    if (this.anchorSec === null) {
      this.anchor(nowSec);
    } else if (this.nextStartSec() < nowSec) {
      underrun = true;
      this.underrunCount++;
      this.anchor(nowSec);
    }

    const startSec = this.nextStartSec();
    this.scheduledSamples += frameCount;
    return { startSec, endSec: this.nextStartSec(), underrun };
  }

  /** Time at which the next chunk would start, or null before the first chunk. */
  get endOfScheduledSec(): number | null {
    return this.anchorSec === null ? null : this.nextStartSec();
  }

  /** Seconds of audio scheduled but not yet played at `nowSec`. */
  bufferedSec(nowSec: number): number {
    return this.anchorSec === null ? 0 : Math.max(0, this.nextStartSec() - nowSec);
  }

  get underruns(): number {
    return this.underrunCount;
  }

  reset(): void {
    this.anchorSec = null;
    this.scheduledSamples = 0;
    this.underrunCount = 0;
  }

  private anchor(nowSec: number): void {
    this.anchorSec = nowSec + this.leadSec;
    this.scheduledSamples = 0;
  }

  private nextStartSec(): number {
    return (this.anchorSec ?? 0) + this.scheduledSamples / this.sampleRateHz;
  }
}
