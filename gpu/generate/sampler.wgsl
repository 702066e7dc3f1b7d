// Counter-based random numbers of the generator's sampler; sampler.ts computes the same
// bits on the CPU (sampleHash, sampleUniform).

// murmur3's 32-bit finalizer: a bijection on u32 with full avalanche.
fn mix32(value: u32) -> u32 {
  var h = value;
  h ^= h >> 16u;
  h *= 0x85ebca6bu;
  h ^= h >> 13u;
  h *= 0xc2b2ae35u;
  h ^= h >> 16u;
  return h;
}

// Uniform in [0, 1) with 24 random bits, from (seed, stream, counter) alone, so a draw does
// not depend on how generation was cut into dispatches.
fn sample_uniform(seed: u32, stream: u32, counter: u32) -> f32 {
  let seeded = mix32(seed);
  let streamed = mix32(stream * 0x9e3779b9u + seeded);
  let hash = mix32(counter * 0x85ebca77u + streamed);
  return f32(hash >> 8u) * (1.0 / 16777216.0);
}
