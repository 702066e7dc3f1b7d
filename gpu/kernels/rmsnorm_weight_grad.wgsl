// First pass of the RMSNorm weight gradient dw_j = sum over rows of dy_j x_j rstd: partial
// sums over blocks of rows; reduce_partials.wgsl adds the blocks.

struct Params {
  rows: u32,
  dim: u32,
  rows_per_part: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
// x, dy (rows, dim) contiguous; rstd (rows).
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> rstd: array<f32>;
@group(0) @binding(3) var<storage, read> dy: array<f32>;
// partials (parts, dim): part p sums rows [p * rows_per_part, (p + 1) * rows_per_part).
@group(0) @binding(4) var<storage, read_write> partials: array<f32>;

const WORKGROUP_SIZE: u32 = 64u;

// One workgroup: 64 consecutive columns j of part workgroup_id.y.
// One invocation: column j of one part, walking its rows in order.
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(local_invocation_index) thread: u32) {
  let j = workgroup.x * WORKGROUP_SIZE + thread;
  if (j >= params.dim) {
    return;
  }
  let part = workgroup.y;
  let first = part * params.rows_per_part;
  let last = min(params.rows, first + params.rows_per_part);

  var sum = 0.0;
  for (var row = first; row < last; row++) {
    let index = row * params.dim + j;
    sum += dy[index] * x[index] * rstd[row];
  }
  partials[part * params.dim + j] = sum;
}
