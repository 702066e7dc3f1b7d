// out (+)= f(x, y) element by element over (rows, cols) strided views; f is chosen by the
// OP override constant (elementwise.ts names the values).

struct Params {
  rows: u32,
  cols: u32,
  x_offset: u32,
  x_row_stride: u32,
  y_offset: u32,
  y_row_stride: u32,
  out_offset: u32,
  out_row_stride: u32,
  alpha: f32,
  // 1: out += f; 0: out = f.
  accumulate: u32,
  // Consecutive elements per invocation (see element_grid.ts).
  per_invocation: u32,
  // Workgroups along x of the dispatch grid (see GpuContext.grid).
  groups_x: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const OP_SCALE: u32 = 0u;             // alpha * x
const OP_ADD: u32 = 1u;               // x + alpha * y
const OP_MUL: u32 = 2u;               // x * y
const OP_SILU: u32 = 3u;              // x * sigmoid(x)
const OP_SILU_BACKWARD: u32 = 4u;     // y * silu'(x): x the pre-activation, y the upstream gradient
const OP_SOFTPLUS: u32 = 5u;          // log(1 + exp(x)), or x above 20
const OP_SOFTPLUS_BACKWARD: u32 = 6u; // y * softplus'(x)

override OP: u32 = OP_SCALE;
// Unary ops never read y.
override READS_Y: bool = OP == OP_ADD || OP == OP_MUL || OP == OP_SILU_BACKWARD || OP == OP_SOFTPLUS_BACKWARD;

const WORKGROUP_SIZE: u32 = 64u;
const SOFTPLUS_THRESHOLD: f32 = 20.0;

fn sigmoid(v: f32) -> f32 {
  return 1.0 / (1.0 + exp(-v));
}

// log(1 + u) for u in [0, 1] without forming 1 + u, which would round away u below 6e-8:
// log(1 + u) = 2 atanh(s) with s = u / (2 + u) <= 1/3, summed as s (1 + s^2/3 + s^4/5 + ...).
// The terms up to s^15 leave a relative error below 2e-9.
fn log1p_unit(u: f32) -> f32 {
  let s = u / (2.0 + u);
  let t = s * s;
  let series = 1.0 + t * (1.0 / 3.0 + t * (1.0 / 5.0 + t * (1.0 / 7.0 + t * (1.0 / 9.0 + t * (1.0 / 11.0 + t * (1.0 / 13.0 + t * (1.0 / 15.0)))))));
  return 2.0 * s * series;
}

// PyTorch's softplus with beta 1 and threshold 20: x for x > 20, else
// max(x, 0) + log1p(exp(-|x|)), which keeps full precision down to x = -87 where
// log(1 + exp(x)) in float32 would already return 0 below x = -17.
fn softplus(v: f32) -> f32 {
  if (v > SOFTPLUS_THRESHOLD) {
    return v;
  }
  return max(v, 0.0) + log1p_unit(exp(-abs(v)));
}

fn apply(a: f32, b: f32) -> f32 {
  switch OP {
    case OP_ADD: { return a + params.alpha * b; }
    case OP_MUL: { return a * b; }
    case OP_SILU: { return a * sigmoid(a); }
    case OP_SILU_BACKWARD: {
      let s = sigmoid(a);
      return b * s * (1.0 + a * (1.0 - s));
    }
    case OP_SOFTPLUS: { return softplus(a); }
    case OP_SOFTPLUS_BACKWARD: { return b * select(sigmoid(a), 1.0, a > SOFTPLUS_THRESHOLD); }
    default: { return params.alpha * a; }
  }
}

// One workgroup: 64 runs of per_invocation consecutive elements (i, j) in row-major order.
// One invocation: one run, stepping (i, j) along the rows.
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(local_invocation_index) thread: u32) {
  let first = ((workgroup.y * params.groups_x + workgroup.x) * WORKGROUP_SIZE + thread) * params.per_invocation;
  let count = params.rows * params.cols;
  if (first >= count) {
    return;
  }
  let last = min(count, first + params.per_invocation);
  var i = first / params.cols;
  var j = first % params.cols;

  for (var e = first; e < last; e++) {
    var second = 0.0;
    if (READS_Y) {
      second = y[params.y_offset + i * params.y_row_stride + j];
    }
    let value = apply(x[params.x_offset + i * params.x_row_stride + j], second);
    let index = params.out_offset + i * params.out_row_stride + j;
    if (params.accumulate != 0u) {
      out[index] += value;
    } else {
      out[index] = value;
    }

    j++;
    if (j == params.cols) {
      j = 0u;
      i++;
    }
  }
}
