// Selective scan, backward steps 3 and 5 of 5: gradients of B and C, which every channel
// of a group shares, as sums over those channels. No float atomics exist in WGSL, so one
// invocation sums one output element:
//   weighted (dC): out[row, offset + g * N + n] = sum_{d in g} w[row, d] * S[tl + 1, b, d, n]
//                  with S = h_t from step 1 and w = dy from step 2
//   plain    (dB): out[row, offset + g * N + n] = sum_{d in g} S[tl + 1, b, d, n]
//                  with S = g_t * dt_t * u_t, written by step 4 over the states

struct Params {
  batch: u32,
  channels: u32,
  groups: u32,
  steps: u32,
  out_stride: u32,
  out_offset: u32,
  weighted: u32,
}

const N_STATE: u32 = 16u;
const WORKGROUP_SIZE: u32 = 64u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> weights: array<f32>;
@group(0) @binding(2) var<storage, read> scratch: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

// One invocation per (row, group, n): steps * batch * groups * N_STATE in all.
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let lane = (wid.y * nwg.x + wid.x) * WORKGROUP_SIZE + lid;
  let width = p.groups * N_STATE;
  if (lane >= p.steps * p.batch * width) {
    return;
  }
  let row = lane / width;
  let column = lane % width;
  let group = column / N_STATE;
  let n = column % N_STATE;
  let per_group = p.channels / p.groups;

  // Scratch slot tl + 1 for token row r = tl * batch + b starts at (r + batch) * channels * N.
  let slot_base = (row + p.batch) * p.channels * N_STATE;
  var sum = 0.0;
  for (var d = group * per_group; d < (group + 1u) * per_group; d++) {
    var term = scratch[slot_base + d * N_STATE + n];
    if (p.weighted != 0u) {
      term *= weights[row * p.channels + d];
    }
    sum += term;
  }
  out[row * p.out_stride + p.out_offset + column] = sum;
}
