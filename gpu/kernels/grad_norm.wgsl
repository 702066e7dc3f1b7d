// Second pass of the global gradient norm: adds the per-chunk sums of squares of every
// gradient tensor and writes, for the clipping pass and the trainer,
//   result[0] = norm = sqrt(sum of squares)
//   result[1] = clip scale = min(1, max_norm / (norm + 1e-6)), or 1 when not finite
//   result[2] = 1 when any gradient element is NaN or infinite (the sum is then not finite), else 0

struct Params {
  parts: u32,
  max_norm: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> partials: array<f32>;
@group(0) @binding(2) var<storage, read_write> result: array<f32>;

// IEEE 754 binary32 exponent bits: all ones means infinity or NaN.
const EXPONENT_MASK: u32 = 0x7f800000u;

fn is_finite(v: f32) -> bool {
  return (bitcast<u32>(v) & EXPONENT_MASK) != EXPONENT_MASK;
}

// One workgroup of one invocation: the partials are few (at most 16,384), and one ordered
// sum keeps the norm identical from run to run.
@compute @workgroup_size(1)
fn main() {
  var sum = 0.0;
  for (var p = 0u; p < params.parts; p++) {
    sum += partials[p];
  }
  let norm = sqrt(sum);
  let finite = is_finite(sum);
  result[0] = norm;
  result[1] = select(1.0, min(1.0, params.max_norm / (norm + 1e-6)), finite);
  result[2] = select(1.0, 0.0, finite);
}
