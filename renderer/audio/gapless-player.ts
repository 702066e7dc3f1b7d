// Plays streamed chunks gaplessly: one AudioBufferSourceNode per chunk, started at the
// times GaplessScheduler computes on the AudioContext clock.

import { GaplessScheduler } from './gapless-scheduler';

export interface PlayerStatus {
  playing: boolean;
  underruns: number;
  /** Seconds scheduled ahead of the current time. */
  bufferedSec: number;
  /** The AudioContext's currentTime: seconds since the context started, 0 before. */
  clockSec: number;
}

export class GaplessPlayer {
  private context: AudioContext | null = null;
  private readonly scheduler: GaplessScheduler;
  private readonly sources = new Set<AudioBufferSourceNode>();

  constructor(
    readonly sampleRateHz: number,
    leadSec = 0.15,
  ) {
    this.scheduler = new GaplessScheduler(sampleRateHz, leadSec);
  }

  /**
   * Creates the AudioContext. Call it from a user gesture (a click): browsers start
   * contexts created without one in the suspended state.
   */
  async start(): Promise<void> {
    if (!this.context) {
      // A context at the chunks' rate avoids resampling each buffer; browsers accept 3-768 kHz.
      this.context = new AudioContext({ sampleRate: this.sampleRateHz, latencyHint: 'playback' });
    }
    if (this.context.state === 'suspended') await this.context.resume();
  }

  /** Schedules a chunk right after the previous one. */
  enqueue(samples: Float32Array): void {
    const context = this.context;
    if (!context || samples.length === 0) return;
    const buffer = context.createBuffer(1, samples.length, this.sampleRateHz);
    buffer.copyToChannel(samples as Float32Array<ArrayBuffer>, 0);

    const source = context.createBufferSource();
    source.buffer = buffer;
    source.connect(context.destination);
    const { startSec } = this.scheduler.schedule(context.currentTime, samples.length);
    source.start(startSec);
    this.sources.add(source);
    source.onended = () => {
      this.sources.delete(source);
      source.disconnect();
    };
  }

  status(): PlayerStatus {
    const now = this.context?.currentTime ?? 0;
    return { playing: this.sources.size > 0, underruns: this.scheduler.underruns, bufferedSec: this.scheduler.bufferedSec(now), clockSec: now };
  }

  /** Stops every scheduled chunk at once; the player can be started again. */
  stop(): void {
    for (const source of this.sources) {
      source.onended = null;
      // Every source in the set was started in enqueue, so stop() cannot throw here.
      source.stop();
      source.disconnect();
    }
    this.sources.clear();
    this.scheduler.reset();
  }

  async close(): Promise<void> {
    this.stop();
    const context = this.context;
    this.context = null;
    if (context && context.state !== 'closed') await context.close();
  }
}
