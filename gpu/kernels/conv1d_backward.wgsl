// Input gradient of the causal depthwise conv1d, from the gradient g of its pre-activation:
//   dx[s, b, d] = sum_k weight[d, k] * g[s + K - 1 - k, b, d]   over s + K - 1 - k < L

struct Params {
  batch: u32,
  steps: u32,
  channels: u32,
  width: u32,
  dx_offset: u32,
  dx_row_stride: u32,
  // 1: dx += gradient; 0: dx = gradient.
  accumulate: u32,
  // Consecutive time steps per invocation (see element_grid.ts).
  steps_per_invocation: u32,
  // Workgroups along x of the dispatch grid (see GpuContext.grid).
  groups_x: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
// g (L * B, DI) contiguous; weight (DI, K).
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
// dx: (L * B, DI) strided view, for example the x half of d(xz).
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

const WORKGROUP_SIZE: u32 = 64u;
// Register window length; the same as MAX_WIDTH in conv1d.wgsl, the widest conv.
const MAX_WIDTH: u32 = 8u;

// g at time t of sequence b, channel d; zero past the last step.
fn g_at(t: u32, b: u32, d: u32) -> f32 {
  if (t >= params.steps) {
    return 0.0;
  }
  return g[(t * params.batch + b) * params.channels + d];
}

// One workgroup: 64 runs, channel fastest: invocation p covers (run r, b, d) with
// p = (r * B + b) * DI + d.
// One invocation: one channel of one sequence over up to steps_per_invocation time steps,
// walked backwards. Slot j of the register window holds g at s + 7 - j, and the weights
// are right-aligned (slot j holds tap j - (8 - K), zero before), so each step loads one
// value of g and every window index is a constant.
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(local_invocation_index) thread: u32) {
  let p = (workgroup.y * params.groups_x + workgroup.x) * WORKGROUP_SIZE + thread;
  let d = p % params.channels;
  let sequence = p / params.channels;
  let b = sequence % params.batch;
  let s_begin = (sequence / params.batch) * params.steps_per_invocation;
  if (s_begin >= params.steps) {
    return;
  }
  let s_end = min(params.steps, s_begin + params.steps_per_invocation);

  var aligned: array<f32, MAX_WIDTH>;
  var window: array<f32, MAX_WIDTH>;
  for (var j = 0u; j < MAX_WIDTH; j++) {
    if (j + params.width >= MAX_WIDTH) {
      aligned[j] = weight[d * params.width + j + params.width - MAX_WIDTH];
    }
    // Before the step at s = s_end - 1, slot j holds g at s_end + 7 - j (slot 0 is dropped
    // by the first shift).
    if (j > 0u && j + params.width > MAX_WIDTH) {
      window[j] = g_at(s_end + MAX_WIDTH - 1u - j, b, d);
    }
  }

  for (var s = s_end; s > s_begin; s--) {
    let t = s - 1u;
    for (var j = 0u; j + 1u < MAX_WIDTH; j++) {
      window[j] = window[j + 1u];
    }
    window[MAX_WIDTH - 1u] = g_at(t, b, d);
    var sum = 0.0;
    for (var j = 0u; j < MAX_WIDTH; j++) {
      sum += aligned[j] * window[j];
    }

    let index = params.dx_offset + (t * params.batch + b) * params.dx_row_stride + d;
    if (params.accumulate != 0u) {
      dx[index] += sum;
    } else {
      dx[index] = sum;
    }
  }
}
