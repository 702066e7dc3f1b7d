// Reduces a multi-channel clip to the single channel the model takes.

/** A mono signal plus warnings about how it was made. */
export interface MonoResult {
  samples: Float32Array;
  warnings: string[];
}

/**
 * How far the mix may fall below the channels before we call it cancellation, in dB on
 * top of the drop that uncorrelated channels give (10 log10 channelCount, 3 dB for stereo).
 * 9 dB more flags stereo whose left and right correlate below about -0.88.
 */
const CANCELLATION_MARGIN_DB = 9;

/** Mean squares below this (-100 dBFS) count as silence, where no mix can cancel. */
const SILENCE_MEAN_SQUARE = 1e-10;

/**
 * Averages all channels into one. Warns when the mix is much quieter than the channels,
 * which happens when they cancel (left close to minus right, as in a phase-inverted
 * recording): training on the mix would mean training on near-silence.
 * Throws RangeError when there are no channels or their lengths differ.
 */
export function downmixToMono(channelData: readonly Float32Array[]): MonoResult {
  const channelCount = channelData.length;
  if (channelCount === 0) throw new RangeError('downmixToMono: no channels');
  const frameCount = channelData[0].length;
  for (const channel of channelData) {
    if (channel.length !== frameCount) {
      throw new RangeError(`downmixToMono: channels differ in length (${frameCount} and ${channel.length} frames)`);
    }
  }
  if (channelCount === 1) return { samples: channelData[0].slice(), warnings: [] };

  const samples = new Float32Array(frameCount);
  let channelSquareSum = 0;
  let mixSquareSum = 0;
  if (channelCount === 2) {
    // Stereo in one pass: the common case, and twice as fast as the general loop.
    const [left, right] = channelData;
    for (let i = 0; i < frameCount; i++) {
      const l = left[i];
      const r = right[i];
      const x = (l + r) * 0.5;
      samples[i] = x;
      channelSquareSum += l * l + r * r;
      mixSquareSum += x * x;
    }
  } else {
    for (const channel of channelData) {
      for (let i = 0; i < frameCount; i++) {
        const x = channel[i];
        samples[i] += x;
        channelSquareSum += x * x;
      }
    }
    const scale = 1 / channelCount;
    for (let i = 0; i < frameCount; i++) {
      const x = samples[i] * scale;
      samples[i] = x;
      mixSquareSum += x * x;
    }
  }

  const warnings: string[] = [];
  const channelMeanSquare = channelSquareSum / (channelCount * Math.max(frameCount, 1));
  const mixMeanSquare = mixSquareSum / Math.max(frameCount, 1);
  if (channelMeanSquare > SILENCE_MEAN_SQUARE) {
    const dropDb = 10 * Math.log10(channelMeanSquare / Math.max(mixMeanSquare, 1e-30));
    const uncorrelatedDropDb = 10 * Math.log10(channelCount);
    if (dropDb > uncorrelatedDropDb + CANCELLATION_MARGIN_DB) {
      warnings.push(
        `The channels cancel when mixed to mono: the mix is ${dropDb.toFixed(1)} dB quieter than the channels ` +
          '(left is close to minus right, as in a phase-inverted recording). Select one channel instead of the mix.',
      );
    }
  }
  return { samples, warnings };
}

/** Returns a copy of one channel. Throws RangeError when the index is out of range. */
export function selectChannel(channelData: readonly Float32Array[], channelIndex: number): Float32Array {
  if (!Number.isInteger(channelIndex) || channelIndex < 0 || channelIndex >= channelData.length) {
    throw new RangeError(`selectChannel: channel ${channelIndex} does not exist in ${channelData.length} channels`);
  }
  return channelData[channelIndex].slice();
}
