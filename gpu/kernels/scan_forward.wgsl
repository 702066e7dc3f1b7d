// Selective scan, forward, over a span of time steps for every (batch, channel) pair.
// Portable version: the TypeScript wrapper prefers scan_forward_subgroup.wgsl where the
// device has subgroups, and uses this kernel otherwise.
//
//   dt_t  = softplus(delta_t + bias)          (softplus optional; x > 20 passes through)
//   h_t   = exp(dt_t * A) * h_{t-1} + dt_t * B_t * u_t
//   out_t = (C_t . h_t + D * u_t) * silu(z_t)   (the gate is optional)
//
// Layouts (time-major, see gpu/README.md). The bindings of u, delta, xbc, z and out cover
// only this span's rows, so local row tl * batch + b is token (t0 + tl, b):
//   u, delta, out : (steps, batch, channels)
//   xbc           : rows of xbc_stride floats; B of group g at b_offset + g * N_STATE,
//                   C at c_offset + g * N_STATE (Mamba's x_proj output [dt | B | C])
//   z             : rows of z_stride floats, the gate at column z_offset + d
//   channel       : (channels, N_STATE + 2) = [A (N_STATE) | D | delta bias] per channel
//   states        : (slots, batch, channels, N_STATE); the span starts from slot
//                   read_slot. With save_every = T > 0 the span is whole chunks of T
//                   steps (the last may be shorter), and the state after the span's
//                   chunk k goes to slot write_slot + k; with save_every = 0 only the
//                   final state is written, to slot write_slot
//   state_norms   : (steps, batch, channels), the L2 norm of h_t over n, written only
//                   when trace_norms is set (the selectivity inspector shows it)

struct Params {
  batch: u32,
  channels: u32,
  groups: u32,
  steps: u32,
  xbc_stride: u32,
  b_offset: u32,
  c_offset: u32,
  z_stride: u32,
  z_offset: u32,
  read_slot: u32,
  write_slot: u32,
  save_every: u32,
  softplus: u32,
  gated: u32,
  trace_norms: u32,
}

// State size; set per model by specialize(), because private arrays need a constant size.
const N_STATE: u32 = 16u;
const WORKGROUP_SIZE: u32 = 64u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> u: array<f32>;
@group(0) @binding(2) var<storage, read> delta: array<f32>;
@group(0) @binding(3) var<storage, read> xbc: array<f32>;
@group(0) @binding(4) var<storage, read> z: array<f32>;
@group(0) @binding(5) var<storage, read> channel: array<f32>;
@group(0) @binding(6) var<storage, read_write> states: array<f32>;
@group(0) @binding(7) var<storage, read_write> out: array<f32>;
@group(0) @binding(8) var<storage, read_write> state_norms: array<f32>;

// One invocation owns channel d of sequence b and walks the chunk's time steps in order,
// keeping its N_STATE-wide state in registers. No barriers: channels are independent.
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

  var a: array<f32, N_STATE>;
  var h: array<f32, N_STATE>;
  let state_base = (p.read_slot * p.batch + b) * p.channels * N_STATE + d * N_STATE;
  for (var n = 0u; n < N_STATE; n++) {
    a[n] = channel[channel_base + n];
    h[n] = states[state_base + n];
  }

  for (var tl = 0u; tl < p.steps; tl++) {
    let row = tl * p.batch + b;
    let index = row * p.channels + d;
    var dt = delta[index] + bias;
    if (p.softplus != 0u) {
      dt = softplus(dt);
    }
    let x = u[index];
    let dtx = dt * x;
    let b_base = row * p.xbc_stride + p.b_offset + group * N_STATE;
    let c_base = row * p.xbc_stride + p.c_offset + group * N_STATE;

    var y = skip * x;
    for (var n = 0u; n < N_STATE; n++) {
      h[n] = exp(dt * a[n]) * h[n] + dtx * xbc[b_base + n];
      y += xbc[c_base + n] * h[n];
    }
    if (p.gated != 0u) {
      y *= silu(z[row * p.z_stride + p.z_offset + d]);
    }
    out[index] = y;
    if (p.trace_norms != 0u) {
      var squares = 0.0;
      for (var n = 0u; n < N_STATE; n++) {
        squares += h[n] * h[n];
      }
      state_norms[index] = sqrt(squares);
    }
    if (p.save_every != 0u && (tl + 1u) % p.save_every == 0u && tl + 1u < p.steps) {
      let chunk_base = ((p.write_slot + tl / p.save_every) * p.batch + b) * p.channels * N_STATE + d * N_STATE;
      for (var n = 0u; n < N_STATE; n++) {
        states[chunk_base + n] = h[n];
      }
    }
  }

  var end_slot = p.write_slot;
  if (p.save_every != 0u) {
    end_slot += (p.steps - 1u) / p.save_every;
  }
  let end_base = (end_slot * p.batch + b) * p.channels * N_STATE + d * N_STATE;
  for (var n = 0u; n < N_STATE; n++) {
    states[end_base + n] = h[n];
  }
}
