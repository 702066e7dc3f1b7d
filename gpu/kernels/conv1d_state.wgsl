// Conv state after a forward pass over L steps: the last K inputs x[L - K + k] for
// k = 0 .. K - 1 (k = 0 the oldest), for the recurrent step to continue from. When L < K
// the missing entries come from the state before the pass (has_state) or are zero.

struct Params {
  batch: u32,
  steps: u32,
  channels: u32,
  width: u32,
  x_offset: u32,
  x_row_stride: u32,
  // 1: `state` contains the state before the pass; 0: that state is zero.
  has_state: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
// x: (L * B, DI) strided view of the pass's inputs.
@group(0) @binding(1) var<storage, read> x: array<f32>;
// state (B, DI, K), overwritten in place.
@group(0) @binding(2) var<storage, read_write> state: array<f32>;

const WORKGROUP_SIZE: u32 = 64u;

// One workgroup: 64 consecutive (b, d) pairs.
// One invocation: the K entries of one (b, d) in increasing k. Entry k of the new state
// reads old entry L + k > k, which no earlier iteration has overwritten.
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let e = id.x;
  if (e >= params.batch * params.channels) {
    return;
  }
  let b = e / params.channels;
  let d = e % params.channels;
  let base = e * params.width;

  for (var k = 0u; k < params.width; k++) {
    // Input time L - K + k, negative while k < K - L.
    var value = 0.0;
    if (params.steps + k >= params.width) {
      let t = params.steps + k - params.width;
      value = x[params.x_offset + (t * params.batch + b) * params.x_row_stride + d];
    } else if (params.has_state != 0u) {
      value = state[base + params.steps + k];
    }
    state[base + k] = value;
  }
}
