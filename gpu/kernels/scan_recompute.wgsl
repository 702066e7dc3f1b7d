// Selective scan, backward step 1 of 5: recompute the states of one chunk from the state
// saved at its start, so the backward never stores (L, B, DI, N) for the whole sequence.
//
// Writes scratch slot s = 0..steps with h_{t0 + s - 1}: slot 0 is the chunk's start state
// and slot tl + 1 the state after step tl. Scratch layout (steps + 1, batch, channels,
// N_STATE). Other layouts as in scan_forward.wgsl.

struct Params {
  batch: u32,
  channels: u32,
  groups: u32,
  steps: u32,
  xbc_stride: u32,
  b_offset: u32,
  read_slot: u32,
  softplus: u32,
}

const N_STATE: u32 = 16u;
const WORKGROUP_SIZE: u32 = 64u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> u: array<f32>;
@group(0) @binding(2) var<storage, read> delta: array<f32>;
@group(0) @binding(3) var<storage, read> xbc: array<f32>;
@group(0) @binding(4) var<storage, read> channel: array<f32>;
@group(0) @binding(5) var<storage, read> states: array<f32>;
@group(0) @binding(6) var<storage, read_write> scratch: array<f32>;

// One invocation per (batch, channel), walking the chunk forward like scan_forward.
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let lane = (wid.y * nwg.x + wid.x) * WORKGROUP_SIZE + lid;
  if (lane >= p.batch * p.channels) {
    return;
  }
  let b = lane / p.channels;
  let d = lane % p.channels;
  let group = d / (p.channels / p.groups);
  let channel_base = d * (N_STATE + 2u);
  let bias = channel[channel_base + N_STATE + 1u];
  let slot_stride = p.batch * p.channels * N_STATE;
  let own = b * p.channels * N_STATE + d * N_STATE;

  var a: array<f32, N_STATE>;
  var h: array<f32, N_STATE>;
  for (var n = 0u; n < N_STATE; n++) {
    a[n] = channel[channel_base + n];
    h[n] = states[p.read_slot * slot_stride + own + n];
    scratch[own + n] = h[n];
  }

  for (var tl = 0u; tl < p.steps; tl++) {
    let row = tl * p.batch + b;
    let index = row * p.channels + d;
    var dt = delta[index] + bias;
    if (p.softplus != 0u) {
      dt = softplus(dt);
    }
    let dtx = dt * u[index];
    let b_base = row * p.xbc_stride + p.b_offset + group * N_STATE;
    let slot_base = (tl + 1u) * slot_stride + own;
    for (var n = 0u; n < N_STATE; n++) {
      h[n] = exp(dt * a[n]) * h[n] + dtx * xbc[b_base + n];
      scratch[slot_base + n] = h[n];
    }
  }
}
