// Min/max envelopes for drawing a waveform one bucket (usually one pixel column) at a time.

/** Per-bucket extremes of a range of samples. */
export interface Peaks {
  min: Float32Array;
  max: Float32Array;
  /** Frames per bucket, (endFrame - startFrame) / bucketCount, which is below 1 when zoomed in past the samples. */
  framesPerBucket: number;
}

/**
 * Computes min and max of samples[startFrame, endFrame) in bucketCount equal buckets.
 * Bucket b covers frames [start + floor(b * span / bucketCount), start + floor((b + 1) * span / bucketCount)).
 * When there are fewer frames than buckets, an empty bucket takes the one frame at its
 * start, so the drawn line stays continuous. An empty range gives zeros.
 * Throws RangeError for a bucket count below 1 or a range outside the samples.
 */
export function computePeaks(
  samples: Float32Array,
  bucketCount: number,
  startFrame = 0,
  endFrame = samples.length,
): Peaks {
  if (!Number.isInteger(bucketCount) || bucketCount < 1) {
    throw new RangeError(`computePeaks: bucketCount must be a positive integer, got ${bucketCount}`);
  }
  if (!Number.isInteger(startFrame) || !Number.isInteger(endFrame) || startFrame < 0 || endFrame > samples.length || startFrame > endFrame) {
    throw new RangeError(`computePeaks: frame range [${startFrame}, ${endFrame}) is outside the ${samples.length} samples`);
  }

  const min = new Float32Array(bucketCount);
  const max = new Float32Array(bucketCount);
  const span = endFrame - startFrame;
  if (span === 0) return { min, max, framesPerBucket: 0 };

  for (let b = 0; b < bucketCount; b++) {
    const from = startFrame + Math.floor((b * span) / bucketCount);
    let to = startFrame + Math.floor(((b + 1) * span) / bucketCount);
    if (to === from) to = from + 1;

    let low = samples[from];
    let high = low;
    for (let i = from + 1; i < to; i++) {
      const x = samples[i];
      if (x < low) low = x;
      else if (x > high) high = x;
    }
    min[b] = low;
    max[b] = high;
  }
  return { min, max, framesPerBucket: span / bucketCount };
}
