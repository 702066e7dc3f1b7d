// The sampler of the generator, on the CPU: the counter-based random numbers and the
// temperature / top-p rule that the WGSL kernel (sampler.wgsl) implements the same way.
//
// Random numbers are a hash of (seed, stream, sample index), so a sample's random draw
// does not depend on how the run was cut into chunks or dispatches.
//
// Sampling rule for one stream's logits l (V values):
//   temperature 0:  argmax l, the lowest index on ties (greedy).
//   otherwise:      p_v = exp((l_v - max l) / temperature), unnormalised.
//                   The nucleus is {v : p_v >= tau}, where tau is the largest value among the
//                   p_v whose tail mass sum_{p_u >= tau} p_u is at least topP * sum_u p_u:
//                   the smallest set of most probable classes with topP of the mass, every
//                   class tied at the boundary included.
//                   The sample is the first v, in index order, whose running sum of nucleus
//                   p_v exceeds r * (nucleus mass), with r uniform in [0, 1).

/** murmur3's 32-bit finalizer: a bijection on u32 with full avalanche. */
export function mix32(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hash of (seed, stream, counter) to a u32; the kernel computes the same bits. */
export function sampleHash(seed: number, stream: number, counter: number): number {
  const seeded = mix32(seed >>> 0);
  const streamed = mix32((Math.imul(stream >>> 0, 0x9e3779b9) + seeded) >>> 0);
  return mix32((Math.imul(counter >>> 0, 0x85ebca77) + streamed) >>> 0);
}

/** Uniform in [0, 1) with 24 random bits, exactly representable in float32. */
export function sampleUniform(seed: number, stream: number, counter: number): number {
  return (sampleHash(seed, stream, counter) >>> 8) / 16777216;
}

export interface SamplingOptions {
  /** Softmax temperature; 0 picks the argmax. */
  temperature: number;
  /** Nucleus mass in (0, 1]; 1 keeps every class. */
  topP: number;
}

/** Throws a RangeError naming the invalid sampling option. */
export function validateSampling(options: SamplingOptions): void {
  if (!(options.temperature >= 0) || !Number.isFinite(options.temperature)) {
    throw new RangeError(`temperature = ${options.temperature}; use a finite number >= 0 (0 means greedy).`);
  }
  if (!(options.topP > 0 && options.topP <= 1)) {
    throw new RangeError(`topP = ${options.topP}; use a value in (0, 1] (1 keeps every class).`);
  }
}

/** Index of the largest logit; the lowest index among equal maxima. NaN logits are skipped. */
export function argmax(logits: ArrayLike<number>, offset = 0, length = logits.length - offset): number {
  let best = -Infinity;
  let bestIndex = 0;
  for (let v = 0; v < length; v++) {
    const value = logits[offset + v];
    if (value > best) {
      best = value;
      bestIndex = v;
    }
  }
  return bestIndex;
}

/**
 * Computes the nucleus of one row of logits as unnormalised probabilities, 0 outside the
 * nucleus, and their sum.
 */
export function nucleusWeights(
  logits: ArrayLike<number>,
  options: SamplingOptions,
  offset = 0,
  length = logits.length - offset,
): { weights: Float64Array; mass: number } {
  let max = -Infinity;
  for (let v = 0; v < length; v++) max = Math.max(max, logits[offset + v]);
  const weights = new Float64Array(length);
  let total = 0;
  for (let v = 0; v < length; v++) {
    weights[v] = Math.exp((logits[offset + v] - max) / options.temperature);
    total += weights[v];
  }
  if (options.topP >= 1) return { weights, mass: total };

  // Walk the classes from most to least probable until topP of the mass is covered; the
  // weight reached there is tau, and every class with a weight >= tau stays.
  const order = Array.from({ length }, (_, v) => v).sort((a, b) => weights[b] - weights[a]);
  const target = options.topP * total;
  let covered = 0;
  let tau = 0;
  for (const v of order) {
    covered += weights[v];
    tau = weights[v];
    if (covered >= target) break;
  }
  let mass = 0;
  for (let v = 0; v < length; v++) {
    if (weights[v] < tau) weights[v] = 0;
    mass += weights[v];
  }
  return { weights, mass };
}

/** Samples one class from a row of logits with the rule at the top of this file. */
export function sampleLogits(
  logits: ArrayLike<number>,
  options: SamplingOptions,
  uniform: number,
  offset = 0,
  length = logits.length - offset,
): number {
  if (options.temperature === 0) return argmax(logits, offset, length);
  const { weights, mass } = nucleusWeights(logits, options, offset, length);
  const threshold = uniform * mass;
  let running = 0;
  for (let v = 0; v < length; v++) {
    running += weights[v];
    if (weights[v] > 0 && running > threshold) return v;
  }
  // Rounding can leave the threshold at the very end of the mass, so fall back to the most probable class.
  return argmax(logits, offset, length);
}
