// RMSNorm forward as mamba_ssm's RMSNorm: y = x / sqrt(mean(x^2) + eps) * weight, per row,
// saving rstd = 1 / sqrt(mean(x^2) + eps) for the backward pass.

struct Params {
  rows: u32,
  dim: u32,
  eps: f32,
  // Workgroups along x of the dispatch grid (see GpuContext.grid).
  groups_x: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
// x (rows, dim), contiguous.
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
// y (rows, dim) and rstd (rows).
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> rstd: array<f32>;

const WORKGROUP_SIZE: u32 = 64u;

// One workgroup: 64 consecutive rows.
// One invocation: one row; it reads the row twice (sum of squares, then the scaled output),
// so rows are independent and no workgroup memory or barrier is needed.
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(local_invocation_index) thread: u32) {
  let row = (workgroup.y * params.groups_x + workgroup.x) * WORKGROUP_SIZE + thread;
  if (row >= params.rows) {
    return;
  }
  let base = row * params.dim;

  var sum_squares = 0.0;
  for (var j = 0u; j < params.dim; j++) {
    let value = x[base + j];
    sum_squares += value * value;
  }
  let r = inverseSqrt(sum_squares / f32(params.dim) + params.eps);
  rstd[row] = r;

  for (var j = 0u; j < params.dim; j++) {
    y[base + j] = x[base + j] * r * weight[j];
  }
}
