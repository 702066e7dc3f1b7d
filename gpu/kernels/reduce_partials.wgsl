// out (+)= sum over parts of partial sums, for the second pass of two-pass reductions.

struct Params {
  rows: u32,
  cols: u32,
  parts: u32,
  // Element index of part 0, element 0 in `partials`, and the distance between parts.
  part_offset: u32,
  part_stride: u32,
  out_offset: u32,
  out_row_stride: u32,
  // 1: out += sum; 0: out = sum.
  accumulate: u32,
  // Workgroups along x of the dispatch grid (see GpuContext.grid).
  groups_x: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
// Part p is a rows x cols block, element (i, j) at part_offset + p * part_stride + i * cols + j.
@group(0) @binding(1) var<storage, read> partials: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

const WORKGROUP_SIZE: u32 = 64u;

// One workgroup: 64 consecutive elements (i, j) in row-major order.
// One invocation: one element; it adds the element over all parts in order, which makes
// the result independent of how the parts were scheduled.
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(local_invocation_index) thread: u32) {
  let e = (workgroup.y * params.groups_x + workgroup.x) * WORKGROUP_SIZE + thread;
  let count = params.rows * params.cols;
  if (e >= count) {
    return;
  }

  var sum = 0.0;
  var index = params.part_offset + e;
  for (var p = 0u; p < params.parts; p++) {
    sum += partials[index];
    index += params.part_stride;
  }

  let target_index = params.out_offset + (e / params.cols) * params.out_row_stride + e % params.cols;
  if (params.accumulate != 0u) {
    out[target_index] += sum;
  } else {
    out[target_index] = sum;
  }
}
