// First pass of the conv1d weight and bias gradients, from the gradient g of the
// pre-activation, summed over blocks of time steps (all sequences of the batch):
//   dweight[d, k] = sum g[t, b, d] * x[t - K + 1 + k, b, d]      dbias[d] = sum g[t, b, d]
// reduce_partials.wgsl adds the blocks.

struct Params {
  batch: u32,
  steps: u32,
  channels: u32,
  width: u32,
  x_offset: u32,
  x_row_stride: u32,
  // 1: inputs before t = 0 come from `state`; 0: they are zero.
  has_state: u32,
  steps_per_part: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
// g (L * B, DI) contiguous; x strided as in conv1d.wgsl; state (B, DI, K).
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> state: array<f32>;
// partials (parts, DI * K + DI): per part, dweight (DI, K) then dbias (DI).
@group(0) @binding(4) var<storage, read_write> partials: array<f32>;

const WORKGROUP_SIZE: u32 = 64u;
// Register window length; the same as MAX_WIDTH in conv1d.wgsl, the widest conv.
const MAX_WIDTH: u32 = 8u;

// Input at time shifted_t - (K - 1) of sequence b, channel d, as input_at in conv1d.wgsl.
fn input_at(shifted_t: u32, b: u32, d: u32) -> f32 {
  let back = params.width - 1u;
  if (shifted_t >= back) {
    return x[params.x_offset + ((shifted_t - back) * params.batch + b) * params.x_row_stride + d];
  }
  if (params.has_state != 0u) {
    return state[(b * params.channels + d) * params.width + 1u + shifted_t];
  }
  return 0.0;
}

// One workgroup: 64 consecutive channels d of part workgroup_id.y.
// One invocation: channel d over the part's time steps, one sequence after another. As in
// conv1d.wgsl, slot j of the register window holds input t - 7 + j, so each step loads one
// input; sums[j] collects g * window[j], and slot j is tap j - (8 - K).
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(local_invocation_index) thread: u32) {
  let d = workgroup.x * WORKGROUP_SIZE + thread;
  if (d >= params.channels) {
    return;
  }
  let part = workgroup.y;
  let t_begin = part * params.steps_per_part;
  let t_end = min(params.steps, t_begin + params.steps_per_part);

  var sums: array<f32, MAX_WIDTH>;
  var bias_sum = 0.0;
  for (var b = 0u; b < params.batch; b++) {
    var window: array<f32, MAX_WIDTH>;
    for (var j = 1u; j < MAX_WIDTH; j++) {
      if (j + params.width > MAX_WIDTH) {
        window[j] = input_at(t_begin + j + params.width - 1u - MAX_WIDTH, b, d);
      }
    }
    for (var t = t_begin; t < t_end; t++) {
      for (var j = 0u; j + 1u < MAX_WIDTH; j++) {
        window[j] = window[j + 1u];
      }
      window[MAX_WIDTH - 1u] = input_at(t + params.width - 1u, b, d);
      let gradient = g[(t * params.batch + b) * params.channels + d];
      bias_sum += gradient;
      for (var j = 0u; j < MAX_WIDTH; j++) {
        sums[j] += gradient * window[j];
      }
    }
  }

  let base = part * (params.channels * params.width + params.channels);
  for (var j = 0u; j < MAX_WIDTH; j++) {
    if (j + params.width >= MAX_WIDTH) {
      partials[base + d * params.width + j + params.width - MAX_WIDTH] = sums[j];
    }
  }
  partials[base + params.channels * params.width + d] = bias_sum;
}
