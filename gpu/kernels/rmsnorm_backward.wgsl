// RMSNorm input gradient. With y_j = x_j r w_j and r = (mean(x^2) + eps)^(-1/2):
//   dx_i = r (w_i dy_i - x_i r^2 (sum_j dy_j w_j x_j) / dim)

struct Params {
  rows: u32,
  dim: u32,
  // 1: dx += gradient (the residual stream's gradient); 0: dx = gradient.
  accumulate: u32,
  // Workgroups along x of the dispatch grid (see GpuContext.grid).
  groups_x: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
// x, dy (rows, dim) contiguous; weight (dim); rstd (rows) saved by the forward pass.
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> rstd: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;

const WORKGROUP_SIZE: u32 = 64u;

// One workgroup: 64 consecutive rows.
// One invocation: one row, in two passes (the dot product, then dx).
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(local_invocation_index) thread: u32) {
  let row = (workgroup.y * params.groups_x + workgroup.x) * WORKGROUP_SIZE + thread;
  if (row >= params.rows) {
    return;
  }
  let base = row * params.dim;
  let r = rstd[row];

  var dot = 0.0;
  for (var j = 0u; j < params.dim; j++) {
    dot += dy[base + j] * weight[j] * x[base + j];
  }
  let correction = r * r * dot / f32(params.dim);

  for (var j = 0u; j < params.dim; j++) {
    let gradient = r * (weight[j] * dy[base + j] - x[base + j] * correction);
    if (params.accumulate != 0u) {
      dx[base + j] += gradient;
    } else {
      dx[base + j] = gradient;
    }
  }
}
