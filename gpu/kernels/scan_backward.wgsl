// Selective scan, backward step 4 of 5: the reverse sweep over one chunk.
//
// With a_t = exp(dt_t * A) and g_t = dLoss/dh_t (including what flows back from h_{t+1}):
//   g_t     = C_t * dy_t + a_{t+1} * g_{t+1}
//   du_t    = D * dy_t + sum_n g_t * dt_t * B_t
//   ddt_t   = sum_n g_t * (a_t * A * h_{t-1} + B_t * u_t)
//   ddelta  = ddt_t * sigmoid(delta_t + bias)     (softplus' ; 1 above 20 or without softplus)
//   dA     += g_t * a_t * dt_t * h_{t-1},   dD += dy_t * u_t,   dbias += ddelta
// g * dt * u is written over scratch slot tl + 1 (h_t is no longer needed there) for the
// dB reduction of step 5. dy comes in through du, which this step overwrites.
//
// accum is (batch, channels, 2 * N_STATE + 2) = [carry g (N) | dA (N) | dD | dbias] per
// (b, d): the carry passes a_{t0} * g_{t0} to the previous chunk, and the partial sums
// over time are reduced over the batch by scan_param_grads.

struct Params {
  batch: u32,
  channels: u32,
  groups: u32,
  steps: u32,
  xbc_stride: u32,
  b_offset: u32,
  c_offset: u32,
  softplus: u32,
}

const N_STATE: u32 = 16u;
const WORKGROUP_SIZE: u32 = 64u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> u: array<f32>;
@group(0) @binding(2) var<storage, read> delta: array<f32>;
@group(0) @binding(3) var<storage, read> xbc: array<f32>;
@group(0) @binding(4) var<storage, read> channel: array<f32>;
@group(0) @binding(5) var<storage, read_write> scratch: array<f32>;
@group(0) @binding(6) var<storage, read_write> accum: array<f32>;
@group(0) @binding(7) var<storage, read_write> du: array<f32>;
@group(0) @binding(8) var<storage, read_write> ddelta: array<f32>;

// One invocation per (batch, channel), walking the chunk backward in time.
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
  let skip = channel[channel_base + N_STATE];
  let bias = channel[channel_base + N_STATE + 1u];
  let slot_stride = p.batch * p.channels * N_STATE;
  let own = b * p.channels * N_STATE + d * N_STATE;
  let accum_base = lane * (2u * N_STATE + 2u);

  var a: array<f32, N_STATE>;
  var g: array<f32, N_STATE>;
  var da: array<f32, N_STATE>;
  for (var n = 0u; n < N_STATE; n++) {
    a[n] = channel[channel_base + n];
    g[n] = accum[accum_base + n];
    da[n] = 0.0;
  }
  var dskip = 0.0;
  var dbias = 0.0;

  for (var step = 0u; step < p.steps; step++) {
    let tl = p.steps - 1u - step;
    let row = tl * p.batch + b;
    let index = row * p.channels + d;
    let raw = delta[index] + bias;
    var dt = raw;
    if (p.softplus != 0u) {
      dt = softplus(raw);
    }
    let x = u[index];
    let dy = du[index];
    let b_base = row * p.xbc_stride + p.b_offset + group * N_STATE;
    let c_base = row * p.xbc_stride + p.c_offset + group * N_STATE;
    let previous = tl * slot_stride + own;
    let current = previous + slot_stride;

    var dx = skip * dy;
    dskip += dy * x;
    var ddt = 0.0;
    for (var n = 0u; n < N_STATE; n++) {
      g[n] += dy * xbc[c_base + n];
      let decay = exp(dt * a[n]);
      let h_previous = scratch[previous + n];
      let b_n = xbc[b_base + n];
      ddt += g[n] * (decay * a[n] * h_previous + b_n * x);
      da[n] += g[n] * decay * dt * h_previous;
      dx += g[n] * dt * b_n;
      scratch[current + n] = g[n] * dt * x;
      g[n] *= decay;
    }

    var draw = ddt;
    if (p.softplus != 0u && raw <= 20.0) {
      draw = ddt * sigmoid(raw);
    }
    du[index] = dx;
    ddelta[index] = draw;
    dbias += draw;
  }

  for (var n = 0u; n < N_STATE; n++) {
    accum[accum_base + n] = g[n];
    accum[accum_base + N_STATE + n] += da[n];
  }
  accum[accum_base + 2u * N_STATE] += dskip;
  accum[accum_base + 2u * N_STATE + 1u] += dbias;
}
