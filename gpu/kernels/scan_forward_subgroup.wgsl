// Selective scan, forward, on devices with subgroups. The math, the bindings and the
// parameters are those of scan_forward.wgsl; only the way B and C reach the lanes differs.
//
// In scan_forward.wgsl every invocation loads all N_STATE values of B_t and of C_t itself.
// All invocations of a workgroup read the same row, but a software rasterizer such as
// lavapipe runs 8 invocations in SIMD lanes and turns each of those loads into an 8-lane
// gather, which dominated the kernel's time there. Here a workgroup covers one sequence b
// and one group g (workgroup_id y and z), so every lane of a subgroup needs the same B_t
// and C_t: lane k loads entries k, k + W, k + 2W, ... (W = BROADCAST_WIDTH), and the
// others read them with subgroupBroadcast, whose lane index must be a constant. So the
// wrapper in scan.ts expands the per-n statements for the compiled N_STATE at the
// `{{...}}` marks below, and the state lives in named registers h0, h1, ... instead of an
// array.
//
// Every lane must reach the subgroup operations, so lanes past the group's last channel
// repeat that channel's work and skip the stores instead of returning early.
enable subgroups;
// The analysis cannot see that the loop bound and the flags come from a uniform buffer.
diagnostic(off, subgroup_uniformity);

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

// Set per model by specialize(); the expanded statements match them.
const N_STATE: u32 = 16u;
// Lanes that load B and C: at most the device's smallest subgroup size.
const BROADCAST_WIDTH: u32 = 8u;
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

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(local_invocation_index) lid: u32,
  @builtin(subgroup_invocation_id) lane: u32,
) {
  let channels_per_group = p.channels / p.groups;
  let in_group = wid.x * WORKGROUP_SIZE + lid;
  let in_range = in_group < channels_per_group;
  let b = wid.y;
  let group = wid.z;
  let d = group * channels_per_group + min(in_group, channels_per_group - 1u);
  let channel_base = d * (N_STATE + 2u);
  let skip = channel[channel_base + N_STATE];
  let bias = channel[channel_base + N_STATE + 1u];
  // Entry n of B or C is loaded by lane n % BROADCAST_WIDTH into its register n / BROADCAST_WIDTH.
  let loader = lane % BROADCAST_WIDTH;

  let state_base = (p.read_slot * p.batch + b) * p.channels * N_STATE + d * N_STATE;
  {{load_state}}

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
    {{load_bc}}

    var y = skip * x;
    {{update}}
    if (p.gated != 0u) {
      y *= silu(z[row * p.z_stride + p.z_offset + d]);
    }
    if (in_range) {
      out[index] = y;
    }
    if (p.trace_norms != 0u && in_range) {
      state_norms[index] = sqrt({{sum_of_squares}});
    }
    if (p.save_every != 0u && (tl + 1u) % p.save_every == 0u && tl + 1u < p.steps && in_range) {
      let chunk_base = ((p.write_slot + tl / p.save_every) * p.batch + b) * p.channels * N_STATE + d * N_STATE;
      {{store_chunk_state}}
    }
  }

  var end_slot = p.write_slot;
  if (p.save_every != 0u) {
    end_slot += (p.steps - 1u) / p.save_every;
  }
  let end_base = (end_slot * p.batch + b) * p.channels * N_STATE + d * N_STATE;
  if (in_range) {
    {{store_end_state}}
  }
}
