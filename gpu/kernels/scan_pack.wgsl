// Packs a Mamba layer's per-channel scan parameters into one tensor, so the scan kernels
// stay within 8 storage bindings:
//   channel[d] = [A (N_STATE) | D | delta bias],   A = -exp(A_log)

struct Params {
  channels: u32,
}

const N_STATE: u32 = 16u;
const WORKGROUP_SIZE: u32 = 64u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a_log: array<f32>;
@group(0) @binding(2) var<storage, read> skip: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> channel: array<f32>;

// One invocation per element of the packed (channels, N_STATE + 2) tensor.
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let lane = (wid.y * nwg.x + wid.x) * WORKGROUP_SIZE + lid;
  let width = N_STATE + 2u;
  if (lane >= p.channels * width) {
    return;
  }
  let d = lane / width;
  let column = lane % width;
  if (column < N_STATE) {
    channel[lane] = -exp(a_log[d * N_STATE + column]);
  } else if (column == N_STATE) {
    channel[lane] = skip[d];
  } else {
    channel[lane] = bias[d];
  }
}
