// Selective scan, backward, on devices with subgroups: one dispatch walks a span of whole
// chunks backward and produces everything the five portable kernels (scan_recompute,
// scan_gate_backward, scan_reduce_channels, scan_backward) produce, except that dB and dC
// leave as per-workgroup partial sums, which scan_reduce_tiles.wgsl adds up.
//
// The math is that of scan_backward.wgsl and scan_gate_backward.wgsl. What differs is
// where the states h_t live. The portable kernels write (steps + 1) * N_STATE states per
// channel to a storage scratch and read them back, and on lavapipe every per-invocation
// storage access is a loop over the 8 SIMD lanes. Here the states stay in private memory:
//   1. From the chunk's saved start state, walk the chunk forward and keep the state at
//      every SEGMENT_STEPS-th step in `segment_states`.
//   2. Walk the segments last to first. Recompute the segment's states into `history`,
//      then walk its steps backward with h_t in registers and h_{t-1} from `history`.
// B_t and C_t come from BROADCAST_WIDTH loader lanes through subgroupBroadcast, as in
// scan_forward_subgroup.wgsl. The per-step contributions to dB and dC are summed over the
// workgroup's channels with a butterfly of subgroupShuffleXor that leaves each lane a
// slice of the sums (a reduce-scatter), and each lane stores its slice.
//
// A workgroup is BROADCAST_WIDTH invocations, at most the device's smallest subgroup size,
// so it is one subgroup. Each invocation walks CHANNELS_PER_LANE channels of group wid.z of
// sequence wid.y, channel c at (wid.x * CHANNELS_PER_LANE + c) * BROADCAST_WIDTH + lid, and
// its channels share every load and broadcast of B and C. Channels past the group's last
// one repeat that channel's work and skip the stores, because every lane must reach the
// subgroup operations.
//
// scan.ts expands the statements at the `{{...}}` marks once per state entry n, and writes
// the text between {{#channels}} and {{/channels}} once per channel c with `$` replaced by
// c, so `h$_3` becomes the register h0_3 of channel 0, h1_3 of channel 1, and so on.
//
// Layouts (time-major, see gpu/README.md). The row bindings cover this span's rows only:
//   u, delta, dout, du, ddelta : (steps, batch, channels)
//   xbc, z, dz                 : rows of the given strides, as in scan_forward.wgsl
//   channel                    : (channels, N_STATE + 2) = [A | D | delta bias]
//   states                     : (slots, batch, channels, N_STATE); chunk c of the span
//                                starts from slot first_slot + c
//   accum                      : (batch, channels, 2 * N_STATE + 2) = [carry g | dA | dD |
//                                dbias], as in scan_backward.wgsl; the carry enters from
//                                the next span and leaves for the previous one
//   partials                   : (steps, batch, groups, tiles, PARTIAL_WIDTH); entries
//                                0..N_STATE-1 are dB, N_STATE..2 N_STATE-1 are dC, the rest
//                                padding, for tile wid.x
enable subgroups;
// The analysis cannot see that the loop bounds and the flags come from a uniform buffer.
diagnostic(off, subgroup_uniformity);

struct Params {
  batch: u32,
  channels: u32,
  groups: u32,
  steps: u32,
  chunk_steps: u32,
  first_slot: u32,
  xbc_stride: u32,
  b_offset: u32,
  c_offset: u32,
  z_stride: u32,
  z_offset: u32,
  dz_stride: u32,
  dz_offset: u32,
  softplus: u32,
  gated: u32,
  tiles: u32,
}

// Set per model by specialize(); the expanded statements match them.
const N_STATE: u32 = 16u;
const BROADCAST_WIDTH: u32 = 8u;
// 2 * N_STATE rounded up to a multiple of BROADCAST_WIDTH.
const PARTIAL_WIDTH: u32 = 32u;
const SEGMENT_STEPS: u32 = 16u;
// Channels each invocation walks; they share every load and broadcast of B and C.
const CHANNELS_PER_LANE: u32 = 2u;
// Segments of the longest chunk.
const MAX_SEGMENTS: u32 = 16u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> u: array<f32>;
@group(0) @binding(2) var<storage, read> delta: array<f32>;
@group(0) @binding(3) var<storage, read> xbc: array<f32>;
@group(0) @binding(4) var<storage, read> z: array<f32>;
@group(0) @binding(5) var<storage, read> channel: array<f32>;
@group(0) @binding(6) var<storage, read> states: array<f32>;
@group(0) @binding(7) var<storage, read> dout: array<f32>;
@group(0) @binding(8) var<storage, read_write> dz: array<f32>;
@group(0) @binding(9) var<storage, read_write> du: array<f32>;
@group(0) @binding(10) var<storage, read_write> ddelta: array<f32>;
@group(0) @binding(11) var<storage, read_write> accum: array<f32>;
@group(0) @binding(12) var<storage, read_write> partials: array<f32>;

@compute @workgroup_size(BROADCAST_WIDTH)
fn main(
  @builtin(workgroup_id) wid: vec3u,
  @builtin(local_invocation_index) lid: u32,
  @builtin(subgroup_invocation_id) lane: u32,
) {
  let channels_per_group = p.channels / p.groups;
  let b = wid.y;
  let group = wid.z;
  // Entry n of B or C is loaded by lane n % BROADCAST_WIDTH into its register n / BROADCAST_WIDTH.
  let loader = lane % BROADCAST_WIDTH;
  let slot_stride = p.batch * p.channels * N_STATE;
  let partial_lane = loader * (PARTIAL_WIDTH / BROADCAST_WIDTH);
  let first_channel = wid.x * BROADCAST_WIDTH * CHANNELS_PER_LANE + lid;

  {{#channels}}
  let in_group$ = first_channel + $u * BROADCAST_WIDTH;
  let in_range$ = in_group$ < channels_per_group;
  let live$ = select(0.0, 1.0, in_range$);
  let d$ = group * channels_per_group + min(in_group$, channels_per_group - 1u);
  let channel_base$ = d$ * (N_STATE + 2u);
  let skip$ = channel[channel_base$ + N_STATE];
  let bias$ = channel[channel_base$ + N_STATE + 1u];
  let accum_base$ = (b * p.channels + d$) * (2u * N_STATE + 2u);
  let own_state$ = b * p.channels * N_STATE + d$ * N_STATE;
  {{declare}}
  var dskip$ = 0.0;
  var dbias$ = 0.0;
  var segment_states$: array<array<f32, N_STATE>, MAX_SEGMENTS>;
  var history$: array<array<f32, N_STATE>, SEGMENT_STEPS>;
  var history_raw$: array<f32, SEGMENT_STEPS>;
  var history_x$: array<f32, SEGMENT_STEPS>;
  {{/channels}}

  let chunks = (p.steps + p.chunk_steps - 1u) / p.chunk_steps;
  for (var chunk_end = chunks; chunk_end > 0u; chunk_end--) {
    let chunk = chunk_end - 1u;
    let t0 = chunk * p.chunk_steps;
    let t1 = min(p.steps, t0 + p.chunk_steps);

    // 1. Forward over the chunk, keeping the state at each segment start.
    {{#channels}}
    let state_base$ = (p.first_slot + chunk) * slot_stride + own_state$;
    {{load_chunk_state}}
    {{/channels}}
    for (var tl = t0; tl < t1; tl++) {
      let offset = tl - t0;
      if (offset % SEGMENT_STEPS == 0u) {
        let segment = offset / SEGMENT_STEPS;
        {{#channels}}
        {{save_segment_state}}
        {{/channels}}
      }
      let row = tl * p.batch + b;
      let b_base = row * p.xbc_stride + p.b_offset + group * N_STATE;
      {{load_b}}
      {{#channels}}
      let index$ = row * p.channels + d$;
      var dt$ = delta[index$] + bias$;
      if (p.softplus != 0u) {
        dt$ = softplus(dt$);
      }
      let dtx$ = dt$ * u[index$];
      {{forward_update}}
      {{/channels}}
    }

    // 2. The segments, last first.
    let segments = (t1 - t0 + SEGMENT_STEPS - 1u) / SEGMENT_STEPS;
    for (var segment_end = segments; segment_end > 0u; segment_end--) {
      let segment = segment_end - 1u;
      let s0 = t0 + segment * SEGMENT_STEPS;
      let s1 = min(t1, s0 + SEGMENT_STEPS);
      {{#channels}}
      {{load_segment_state}}
      {{/channels}}

      // 2a. Recompute the segment's states; history[j] is h after step s0 + j.
      for (var tl = s0; tl < s1; tl++) {
        let j = tl - s0;
        let row = tl * p.batch + b;
        let b_base = row * p.xbc_stride + p.b_offset + group * N_STATE;
        {{load_b}}
        {{#channels}}
        let index$ = row * p.channels + d$;
        let raw$ = delta[index$] + bias$;
        var dt$ = raw$;
        if (p.softplus != 0u) {
          dt$ = softplus(raw$);
        }
        let x$ = u[index$];
        let dtx$ = dt$ * x$;
        history_raw$[j] = raw$;
        history_x$[j] = x$;
        {{forward_update}}
        {{save_history}}
        {{/channels}}
      }

      // 2b. Backward over the segment. h$_0, h$_1, ... contain h_t; h_{t-1} is
      // history$[j - 1], or the segment's start state for its first step.
      for (var j_end = s1 - s0; j_end > 0u; j_end--) {
        let j = j_end - 1u;
        let first = j == 0u;
        let previous = max(j, 1u) - 1u;
        let tl = s0 + j;
        let row = tl * p.batch + b;
        let b_base = row * p.xbc_stride + p.b_offset + group * N_STATE;
        let c_base = row * p.xbc_stride + p.c_offset + group * N_STATE;
        {{load_b}}
        {{load_c}}
        {{#channels}}
        let index$ = row * p.channels + d$;
        let raw$ = history_raw$[j];
        var dt$ = raw$;
        if (p.softplus != 0u) {
          dt$ = softplus(raw$);
        }
        let x$ = history_x$[j];
        let dtx$ = dt$ * x$;

        // The gate: y = C . h + D x, out = y * silu(z).
        var y$ = skip$ * x$;
        {{output}}
        var dy$ = dout[index$];
        if (p.gated != 0u) {
          let gate$ = z[row * p.z_stride + p.z_offset + d$];
          let s$ = sigmoid(gate$);
          if (in_range$) {
            dz[row * p.dz_stride + p.dz_offset + d$] = dy$ * y$ * s$ * (1.0 + gate$ * (1.0 - s$));
          }
          dy$ *= gate$ * s$;
        }

        var gdtb$ = 0.0;
        var ddt$ = 0.0;
        {{backward_update}}

        var draw$ = ddt$;
        if (p.softplus != 0u && raw$ <= 20.0) {
          draw$ = ddt$ * sigmoid(raw$);
        }
        dskip$ += dy$ * x$;
        dbias$ += draw$;
        if (in_range$) {
          du[index$] = skip$ * dy$ + dt$ * gdtb$;
          ddelta[index$] = draw$;
        }
        {{/channels}}

        // dB (g * dt * x) and dC (dy * h_t) summed over the workgroup's channels.
        {{reduce_scatter}}
        let partial_base = ((tl * p.batch + b) * p.groups + group) * p.tiles * PARTIAL_WIDTH + wid.x * PARTIAL_WIDTH + partial_lane;
        {{store_partials}}
      }
    }
  }

  {{#channels}}
  var carry$: array<f32, N_STATE>;
  var gradient_a$: array<f32, N_STATE>;
  {{gather_accum}}
  if (in_range$) {
    for (var n = 0u; n < N_STATE; n++) {
      accum[accum_base$ + n] = carry$[n];
      accum[accum_base$ + N_STATE + n] += gradient_a$[n];
    }
    accum[accum_base$ + 2u * N_STATE] += dskip$;
    accum[accum_base$ + 2u * N_STATE + 1u] += dbias$;
  }
  {{/channels}}
}
