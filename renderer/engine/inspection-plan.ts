// Planning and pooling for inspection: how a long span of codes is cut into forward passes
// of one fixed shape (L, B), and how per-sample traces are averaged into the coarser time
// steps sent to the UI. Pure functions, so they are tested without a GPU.
//
// MambaLM's parallel forward always starts from a zero state and keeps every activation of
// its (L, B) rows, so memory grows with L * B. A long span is therefore cut into segments.
// Segment 0 is exact: it starts at the first code. Every later segment re-reads the
// `warmupSamples` codes before it, whose outputs are discarded, so that its state has
// mostly converged by the time its own outputs begin.
//
// NOTE: after a segment boundary the traces are close to, not equal to, one long forward.
// A channel whose decay exp(delta * A) stays near 1 for thousands of samples remembers more
// than the warm-up. The first segment is exact, so a region shorter than one segment is.

/** One forward-pass window: inputs [inputStart, inputStart + L), of which [outputStart, outputEnd) are reported. */
export interface InspectionSegment {
  inputStart: number;
  outputStart: number;
  outputEnd: number;
}

export interface InspectionPlan {
  /** Time steps L of every forward pass. */
  inputLength: number;
  /** Segments per forward pass (B). */
  batchSize: number;
  segments: InspectionSegment[];
}

export interface InspectionLimits {
  /** Reported samples per segment after the first. */
  segmentSamples: number;
  /** Codes re-read before each later segment to prime its state. */
  warmupSamples: number;
  /** Largest L * B of one forward pass. */
  maxRows: number;
}

/**
 * Plans segments covering the outputs [contextSamples, totalCodes). The context must not
 * exceed `warmupSamples` (the caller trims it), so segment 0 always reports something.
 */
export function planInspection(totalCodes: number, contextSamples: number, limits: InspectionLimits, align = 1): InspectionPlan {
  const { segmentSamples, warmupSamples, maxRows } = limits;
  if (!Number.isInteger(align) || align < 1) throw new RangeError(`planInspection: alignment ${align} is not a positive integer`);
  if (!(Number.isInteger(totalCodes) && Number.isInteger(contextSamples) && contextSamples >= 0 && contextSamples < totalCodes)) {
    throw new RangeError(`planInspection: context of ${contextSamples} samples leaves nothing to inspect in ${totalCodes} codes`);
  }
  if (contextSamples > warmupSamples) {
    throw new RangeError(`planInspection: context of ${contextSamples} samples exceeds the warm-up of ${warmupSamples}`);
  }

  // A U-Net pools groups of `align` samples, so every forward pass starts on that grid and
  // has a whole number of groups. Padding past the codes leaves earlier outputs unchanged.
  const inputLength = Math.ceil(Math.min(totalCodes, segmentSamples + warmupSamples) / align) * align;
  const segments: InspectionSegment[] = [{ inputStart: 0, outputStart: contextSamples, outputEnd: Math.min(totalCodes, inputLength) }];
  for (let outputStart = segments[0].outputEnd; outputStart < totalCodes; ) {
    // Starting on the grid gives at least warmupSamples of warm-up, and up to align - 1 more.
    const inputStart = Math.floor((outputStart - warmupSamples) / align) * align;
    const outputEnd = Math.min(totalCodes, outputStart + segmentSamples, inputStart + inputLength);
    segments.push({ inputStart, outputStart, outputEnd });
    outputStart = outputEnd;
  }
  const batchSize = Math.max(1, Math.min(segments.length, Math.floor(maxRows / inputLength)));
  return { inputLength, batchSize, segments };
}

/**
 * Samples averaged into one trace time step, so that the traces of every layer and kind
 * together hold at most `maxValues` numbers.
 */
export function samplesPerTraceStep(samples: number, channels: number, layers: number, kinds: number, maxValues: number): number {
  return Math.max(1, Math.ceil((samples * channels * layers * kinds) / maxValues));
}

/**
 * Builds the inputs (L, B) time-major for one forward pass over `segments`. Rows past the
 * end of `codes` and slots of a short last batch are filled with `padCode`. The model is
 * causal, so padding after a position does not change its outputs.
 */
export function batchInputs(codes: Uint8Array, segments: readonly InspectionSegment[], inputLength: number, batchSize: number, padCode: number): Uint32Array {
  const inputs = new Uint32Array(inputLength * batchSize).fill(padCode);
  segments.forEach((segment, b) => {
    const end = Math.min(codes.length, segment.inputStart + inputLength);
    for (let position = segment.inputStart; position < end; position++) {
      inputs[(position - segment.inputStart) * batchSize + b] = codes[position]!;
    }
  });
  return inputs;
}

/**
 * Mean of per-sample values over trace time steps, for one layer and kind. Positions are
 * counted from the first reported sample (`firstOutput`).
 */
export class TracePooler {
  readonly timeSteps: number;
  private readonly sums: Float64Array;
  private readonly counts: Uint32Array;

  constructor(
    readonly samples: number,
    readonly channels: number,
    readonly samplesPerStep: number,
    private readonly firstOutput: number,
  ) {
    this.timeSteps = Math.ceil(samples / samplesPerStep);
    this.sums = new Float64Array(this.timeSteps * channels);
    this.counts = new Uint32Array(this.timeSteps);
  }

  /**
   * Adds the reported rows of one forward pass. `values` is (L / stride, B, channels)
   * time-major, as MambaLM.inspect (stride 1) and SashimiLM.inspect return it, and batch
   * slot b contains `segments[b]`. Row k covers the samples [k * stride, (k + 1) * stride).
   */
  add(values: Float32Array, segments: readonly InspectionSegment[], batchSize: number, stride = 1): void {
    const { channels } = this;
    segments.forEach((segment, b) => {
      for (let position = segment.outputStart; position < segment.outputEnd; position++) {
        const t = Math.floor((position - segment.inputStart) / stride);
        const step = Math.floor((position - this.firstOutput) / this.samplesPerStep);
        const source = (t * batchSize + b) * channels;
        const target = step * channels;
        for (let c = 0; c < channels; c++) this.sums[target + c] += values[source + c]!;
        this.counts[step]!++;
      }
    });
  }

  /** Returns the means, (timeSteps, channels) time-major. A step that received no sample is 0. */
  result(): Float32Array {
    const out = new Float32Array(this.sums.length);
    for (let step = 0; step < this.timeSteps; step++) {
      const count = this.counts[step]!;
      if (count === 0) continue;
      for (let c = 0; c < this.channels; c++) out[step * this.channels + c] = this.sums[step * this.channels + c]! / count;
    }
    return out;
  }
}
