// First pass of column sums over rows, sum_r x[r, j] (bias gradients): partial sums over
// blocks of rows; reduce_partials.wgsl adds the blocks.

struct Params {
  rows: u32,
  cols: u32,
  x_offset: u32,
  x_row_stride: u32,
  rows_per_part: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
// x: (rows, cols) strided view.
@group(0) @binding(1) var<storage, read> x: array<f32>;
// partials (parts, cols).
@group(0) @binding(2) var<storage, read_write> partials: array<f32>;

const WORKGROUP_SIZE: u32 = 64u;

// One workgroup: 64 consecutive columns of part workgroup_id.y.
// One invocation: column j of one part, walking its rows in order.
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(local_invocation_index) thread: u32) {
  let j = workgroup.x * WORKGROUP_SIZE + thread;
  if (j >= params.cols) {
    return;
  }
  let part = workgroup.y;
  let first = part * params.rows_per_part;
  let last = min(params.rows, first + params.rows_per_part);

  var sum = 0.0;
  for (var row = first; row < last; row++) {
    sum += x[params.x_offset + row * params.x_row_stride + j];
  }
  partials[part * params.cols + j] = sum;
}
