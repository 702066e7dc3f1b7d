// One recurrent step of the causal conv1d, as causal_conv1d_update: shift the conv state
// (B, DI, K) left by one, append the new input as its last entry, and output
// silu(bias + sum_k weight[d, k] * state[b, d, k]) (or the pre-activation when SILU is false).

struct Params {
  batch: u32,
  channels: u32,
  width: u32,
  x_offset: u32,
  x_row_stride: u32,
  out_offset: u32,
  out_row_stride: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
// x: (B, DI) strided view of this step's inputs.
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
// state (B, DI, K), k = 0 the oldest input, updated in place.
@group(0) @binding(4) var<storage, read_write> state: array<f32>;
// out: (B, DI) strided view.
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

override SILU: bool = true;

const WORKGROUP_SIZE: u32 = 64u;

// One workgroup: 64 consecutive (b, d) pairs.
// One invocation: the K state entries of one (b, d), shifted in increasing k so that each
// entry is read before it is overwritten.
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let e = id.x;
  if (e >= params.batch * params.channels) {
    return;
  }
  let b = e / params.channels;
  let d = e % params.channels;
  let base = e * params.width;

  var sum = bias[d];
  for (var k = 0u; k + 1u < params.width; k++) {
    let value = state[base + k + 1u];
    state[base + k] = value;
    sum += weight[d * params.width + k] * value;
  }
  let current = x[params.x_offset + b * params.x_row_stride + d];
  state[base + params.width - 1u] = current;
  sum += weight[d * params.width + params.width - 1u] * current;

  out[params.out_offset + b * params.out_row_stride + d] = select(sum, sum / (1.0 + exp(-sum)), SILU);
}
