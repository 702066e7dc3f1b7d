// Causal depthwise conv1d of width K with bias over time-major (L, B, DI) rows, optionally
// followed by SiLU, as mamba_ssm's conv1d + act:
//   pre[t, b, d] = bias[d] + sum_k weight[d, k] * x[t - K + 1 + k, b, d]
//   out = silu(pre) (or pre when SILU is false)
// Inputs before t = 0 come from an initial conv state (B, DI, K) whose last entry is the
// input just before t = 0, or are zero when there is none (zero padding on the left).

struct Params {
  batch: u32,
  steps: u32,
  channels: u32,
  width: u32,
  x_offset: u32,
  x_row_stride: u32,
  out_offset: u32,
  out_row_stride: u32,
  pre_offset: u32,
  pre_row_stride: u32,
  // 1: read inputs before t = 0 from `state`; 0: they are zero.
  has_state: u32,
  // Consecutive time steps per invocation (see element_grid.ts).
  steps_per_invocation: u32,
  // Workgroups along x of the dispatch grid (see GpuContext.grid).
  groups_x: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
// x: (L * B, DI) strided view, row t * B + b at x_offset + row * x_row_stride.
@group(0) @binding(1) var<storage, read> x: array<f32>;
// weight (DI, K), bias (DI), state (B, DI, K) with k = 0 the oldest input.
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> state: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
// Only the main_with_pre entry point binds pre.
@group(0) @binding(6) var<storage, read_write> pre: array<f32>;

override SILU: bool = true;

const WORKGROUP_SIZE: u32 = 64u;
// Register window length and the widest conv; conv1d.ts reads it as MAX_CONV_WIDTH.
const MAX_WIDTH: u32 = 8u;

fn silu(v: f32) -> f32 {
  return v / (1.0 + exp(-v));
}

// Input at time t of sequence b, channel d, for t >= -(K - 1) given as t + K - 1 >= 0:
// x for t >= 0, else the initial state's entry K + t, or zero without a state.
fn input_at(shifted_t: u32, b: u32, d: u32) -> f32 {
  let back = params.width - 1u;
  if (shifted_t >= back) {
    return x[params.x_offset + ((shifted_t - back) * params.batch + b) * params.x_row_stride + d];
  }
  if (params.has_state != 0u) {
    return state[(b * params.channels + d) * params.width + 1u + shifted_t];
  }
  return 0.0;
}

// The run of one invocation: channel d of sequence b, time steps [t_begin, t_end).
struct Run {
  b: u32,
  d: u32,
  t_begin: u32,
  t_end: u32,
}

// Invocation p covers (run r, b, d) with p = (r * B + b) * DI + d, so neighbouring
// invocations read neighbouring channels of the same rows.
fn run_of(workgroup: vec3<u32>, thread: u32) -> Run {
  let p = (workgroup.y * params.groups_x + workgroup.x) * WORKGROUP_SIZE + thread;
  let d = p % params.channels;
  let sequence = p / params.channels;
  let t_begin = (sequence / params.batch) * params.steps_per_invocation;
  return Run(sequence % params.batch, d, t_begin, min(params.steps, t_begin + params.steps_per_invocation));
}

// Weights of channel d right-aligned in MAX_WIDTH slots: slot j holds tap j - (8 - K) and the
// first 8 - K slots are zero, so a window of the last 8 inputs needs only constant indices.
fn aligned_weights(d: u32) -> array<f32, MAX_WIDTH> {
  var aligned: array<f32, MAX_WIDTH>;
  for (var j = 0u; j < MAX_WIDTH; j++) {
    if (j + params.width >= MAX_WIDTH) {
      aligned[j] = weight[d * params.width + j + params.width - MAX_WIDTH];
    }
  }
  return aligned;
}

// The window before the step at t = run.t_begin: slot j holds input t - 8 + j (slot 0 is
// dropped by the first shift). Slots the weights ignore stay zero and are never loaded.
fn first_window(run: Run) -> array<f32, MAX_WIDTH> {
  var window: array<f32, MAX_WIDTH>;
  for (var j = 1u; j < MAX_WIDTH; j++) {
    if (j + params.width > MAX_WIDTH) {
      // Input time t_begin - 8 + j, shifted by K - 1 so that it is never negative here.
      window[j] = input_at(run.t_begin + j + params.width - 1u - MAX_WIDTH, run.b, run.d);
    }
  }
  return window;
}

// Advances the window to time t and returns the pre-activation there.
fn step(window: ptr<function, array<f32, MAX_WIDTH>>, aligned: array<f32, MAX_WIDTH>, bias_value: f32, t: u32, run: Run) -> f32 {
  for (var j = 0u; j + 1u < MAX_WIDTH; j++) {
    (*window)[j] = (*window)[j + 1u];
  }
  (*window)[MAX_WIDTH - 1u] = input_at(t + params.width - 1u, run.b, run.d);
  var sum = bias_value;
  for (var j = 0u; j < MAX_WIDTH; j++) {
    sum += aligned[j] * (*window)[j];
  }
  return sum;
}

fn row_of(t: u32, run: Run) -> u32 {
  return t * params.batch + run.b;
}

// One workgroup: 64 runs, channel fastest.
// One invocation: one channel of one sequence over up to steps_per_invocation time steps.
// It keeps the last MAX_WIDTH inputs in registers, so each step loads one input instead
// of K; per-invocation loads are the costly part on lavapipe.
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(local_invocation_index) thread: u32) {
  let run = run_of(workgroup, thread);
  if (run.t_begin >= params.steps) {
    return;
  }
  let aligned = aligned_weights(run.d);
  let bias_value = bias[run.d];
  var window = first_window(run);
  for (var t = run.t_begin; t < run.t_end; t++) {
    let value = step(&window, aligned, bias_value, t, run);
    out[params.out_offset + row_of(t, run) * params.out_row_stride + run.d] = select(value, silu(value), SILU);
  }
}

// As main, and also stores the pre-activation, which the backward pass reads.
@compute @workgroup_size(WORKGROUP_SIZE)
fn main_with_pre(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(local_invocation_index) thread: u32) {
  let run = run_of(workgroup, thread);
  if (run.t_begin >= params.steps) {
    return;
  }
  let aligned = aligned_weights(run.d);
  let bias_value = bias[run.d];
  var window = first_window(run);
  for (var t = run.t_begin; t < run.t_end; t++) {
    let value = step(&window, aligned, bias_value, t, run);
    let row = row_of(t, run);
    out[params.out_offset + row * params.out_row_stride + run.d] = select(value, silu(value), SILU);
    pre[params.pre_offset + row * params.pre_row_stride + run.d] = value;
  }
}
