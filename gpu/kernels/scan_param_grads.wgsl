// Selective scan, after the last chunk: sums the per-sequence partial gradients of A, D and
// the delta bias over the batch. With wrt_a_log set, the A gradient is converted to one
// for A_log: A = -exp(A_log), so dA_log = dA * A.

struct Params {
  batch: u32,
  channels: u32,
  wrt_a_log: u32,
}

const N_STATE: u32 = 16u;
const WORKGROUP_SIZE: u32 = 64u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> accum: array<f32>;
@group(0) @binding(2) var<storage, read> channel: array<f32>;
@group(0) @binding(3) var<storage, read_write> d_a: array<f32>;
@group(0) @binding(4) var<storage, read_write> d_skip: array<f32>;
@group(0) @binding(5) var<storage, read_write> d_bias: array<f32>;

// One invocation per channel d and state index n, plus n = N_STATE for D and the bias.
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let lane = (wid.y * nwg.x + wid.x) * WORKGROUP_SIZE + lid;
  if (lane >= p.channels * (N_STATE + 1u)) {
    return;
  }
  let d = lane / (N_STATE + 1u);
  let n = lane % (N_STATE + 1u);
  let stride = 2u * N_STATE + 2u;

  if (n < N_STATE) {
    var sum = 0.0;
    for (var b = 0u; b < p.batch; b++) {
      sum += accum[(b * p.channels + d) * stride + N_STATE + n];
    }
    if (p.wrt_a_log != 0u) {
      sum *= channel[d * (N_STATE + 2u) + n];
    }
    d_a[d * N_STATE + n] = sum;
    return;
  }

  var skip_sum = 0.0;
  var bias_sum = 0.0;
  for (var b = 0u; b < p.batch; b++) {
    let base = (b * p.channels + d) * stride + 2u * N_STATE;
    skip_sum += accum[base];
    bias_sum += accum[base + 1u];
  }
  d_skip[d] = skip_sum;
  d_bias[d] = bias_sum;
}
