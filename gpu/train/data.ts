// Training data: clips of codes (one class per sample), split into training and held-out
// audio, and cut into windows for batches.
import { Rng } from '../util/rng';

export interface CodeClip {
  /** Where the clip came from, for messages. */
  name: string;
  codes: Uint8Array | Uint32Array;
}

export interface DataSplit {
  train: CodeClip[];
  heldOut: CodeClip[];
}

export class DataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataError';
  }
}

/**
 * Splits clips into training and held-out audio. With `heldOutClip`, that whole clip (by
 * name) is held out; otherwise the last `heldOutFraction` of every clip is. Each part must
 * be long enough for at least one window of `windowSamples + 1` codes.
 */
export function splitClips(clips: CodeClip[], options: { heldOutClip?: string; heldOutFraction?: number; windowSamples: number }): DataSplit {
  const need = options.windowSamples + 1;
  if (clips.length === 0) throw new DataError('No clips to train on: add at least one audio file.');
  let split: DataSplit;
  if (options.heldOutClip !== undefined) {
    const heldOut = clips.filter((clip) => clip.name === options.heldOutClip);
    if (heldOut.length === 0) {
      throw new DataError(`Held-out clip "${options.heldOutClip}" is not among the clips (${clips.map((c) => c.name).join(', ')}).`);
    }
    split = { train: clips.filter((clip) => clip.name !== options.heldOutClip), heldOut };
  } else {
    const fraction = options.heldOutFraction ?? 0.1;
    if (!(fraction > 0 && fraction < 1)) throw new DataError(`heldOutFraction = ${fraction} must be between 0 and 1.`);
    split = { train: [], heldOut: [] };
    for (const clip of clips) {
      const cut = Math.floor(clip.codes.length * (1 - fraction));
      split.train.push({ name: clip.name, codes: clip.codes.subarray(0, cut) });
      split.heldOut.push({ name: `${clip.name} (held-out tail)`, codes: clip.codes.subarray(cut) });
    }
  }

  for (const [part, list] of [['training', split.train], ['held-out', split.heldOut]] as const) {
    const usable = list.filter((clip) => clip.codes.length >= need);
    if (usable.length === 0) {
      const longest = Math.max(0, ...list.map((clip) => clip.codes.length));
      throw new DataError(
        `The ${part} audio is too short: windows need ${need} samples, the longest ${part} part has ${longest}. ` +
          'Use longer clips or a shorter --window.',
      );
    }
    list.splice(0, list.length, ...usable);
  }
  return split;
}

/**
 * Draws training batches: B windows of L + 1 codes at random offsets, a clip chosen with
 * probability proportional to its length. Returns inputs and targets time-major (L, B):
 * input (t, b) is code t of window b and its target is code t + 1.
 */
export class WindowSampler {
  private readonly rng: Rng;
  private readonly weights: number[];
  constructor(private readonly clips: CodeClip[], private readonly windowSamples: number, seed: number) {
    this.rng = new Rng(seed);
    const total = clips.reduce((sum, clip) => sum + clip.codes.length - windowSamples, 0);
    let running = 0;
    this.weights = clips.map((clip) => (running += (clip.codes.length - windowSamples) / total));
  }

  batch(B: number): { inputs: Uint32Array; targets: Uint32Array } {
    const L = this.windowSamples;
    const inputs = new Uint32Array(L * B);
    const targets = new Uint32Array(L * B);
    for (let b = 0; b < B; b++) {
      const pick = this.rng.uniform();
      const clip = this.clips[Math.max(0, this.weights.findIndex((weight) => pick < weight))] ?? this.clips[this.clips.length - 1];
      const start = this.rng.integer(clip.codes.length - L);
      for (let t = 0; t < L; t++) {
        inputs[t * B + b] = clip.codes[start + t];
        targets[t * B + b] = clip.codes[start + t + 1];
      }
    }
    return { inputs, targets };
  }
}

/**
 * Fixed validation batches covering the held-out audio with back-to-back windows, at most
 * `maxWindows` of them, spread evenly, so every evaluation sees the same samples.
 */
export function validationBatches(clips: CodeClip[], L: number, B: number, maxWindows: number): Array<{ inputs: Uint32Array; targets: Uint32Array }> {
  const starts: Array<[CodeClip, number]> = [];
  for (const clip of clips) for (let start = 0; start + L + 1 <= clip.codes.length; start += L) starts.push([clip, start]);
  const stride = Math.max(1, starts.length / maxWindows);
  const chosen: Array<[CodeClip, number]> = [];
  for (let i = 0; i < starts.length && chosen.length < maxWindows; i += stride) chosen.push(starts[Math.floor(i)]);

  const batches: Array<{ inputs: Uint32Array; targets: Uint32Array }> = [];
  for (let first = 0; first + B <= chosen.length; first += B) {
    const inputs = new Uint32Array(L * B);
    const targets = new Uint32Array(L * B);
    for (let b = 0; b < B; b++) {
      const [clip, start] = chosen[first + b];
      for (let t = 0; t < L; t++) {
        inputs[t * B + b] = clip.codes[start + t];
        targets[t * B + b] = clip.codes[start + t + 1];
      }
    }
    batches.push({ inputs, targets });
  }
  return batches;
}

/** Entropy in bits of the codes' unigram distribution: the NLL of a model that ignores context. */
export function unigramEntropyBits(clips: CodeClip[], vocabSize: number): number {
  const counts = new Float64Array(vocabSize);
  let total = 0;
  for (const clip of clips) {
    for (const code of clip.codes) counts[code]++;
    total += clip.codes.length;
  }
  let bits = 0;
  for (const count of counts) if (count > 0) bits -= (count / total) * Math.log2(count / total);
  return bits;
}
