// Selective scan, backward step 2 of 5: the gate. With y_t = C_t . h_t + D * u_t and
// out_t = y_t * silu(z_t):
//   dz_t = dout_t * y_t * silu'(z_t),   silu'(z) = s * (1 + z * (1 - s)), s = sigmoid(z)
//   dy_t = dout_t * silu(z_t)           (dy_t = dout_t without a gate)
// dy goes into the du buffer, which step 4 reads and then overwrites with du.

struct Params {
  batch: u32,
  channels: u32,
  groups: u32,
  steps: u32,
  xbc_stride: u32,
  c_offset: u32,
  z_stride: u32,
  z_offset: u32,
  dz_stride: u32,
  dz_offset: u32,
  gated: u32,
}

const N_STATE: u32 = 16u;
const WORKGROUP_SIZE: u32 = 64u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> u: array<f32>;
@group(0) @binding(2) var<storage, read> xbc: array<f32>;
@group(0) @binding(3) var<storage, read> z: array<f32>;
@group(0) @binding(4) var<storage, read> channel: array<f32>;
@group(0) @binding(5) var<storage, read> scratch: array<f32>;
@group(0) @binding(6) var<storage, read> dout: array<f32>;
@group(0) @binding(7) var<storage, read_write> dz: array<f32>;
@group(0) @binding(8) var<storage, read_write> du: array<f32>;

// One invocation per token and channel: (steps * batch * channels) in all.
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let index = (wid.y * nwg.x + wid.x) * WORKGROUP_SIZE + lid;
  if (index >= p.steps * p.batch * p.channels) {
    return;
  }
  let row = index / p.channels;
  let d = index % p.channels;
  let grad = dout[index];
  if (p.gated == 0u) {
    du[index] = grad;
    return;
  }

  let group = d / (p.channels / p.groups);
  let c_base = row * p.xbc_stride + p.c_offset + group * N_STATE;
  // h_t of this (b, d) is in scratch slot tl + 1, at (tl + 1) * batch * channels * N_STATE
  // + (b * channels + d) * N_STATE, which simplifies to the expression below.
  let state_base = (p.batch * p.channels) * N_STATE + index * N_STATE;
  var y = channel[d * (N_STATE + 2u) + N_STATE] * u[index];
  for (var n = 0u; n < N_STATE; n++) {
    y += xbc[c_base + n] * scratch[state_base + n];
  }

  let gate = z[row * p.z_stride + p.z_offset + d];
  let s = sigmoid(gate);
  dz[row * p.dz_stride + p.dz_offset + d] = grad * y * s * (1.0 + gate * (1.0 - s));
  du[index] = grad * gate * s;
}
