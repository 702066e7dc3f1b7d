// Gradient clipping: x[i] *= factor[factor_index] in place, with the factor computed on the
// GPU (grad_norm.wgsl's clip scale), so clipping needs no read-back.

struct Params {
  count: u32,
  factor_index: u32,
  // Consecutive elements per invocation (see element_grid.ts).
  per_invocation: u32,
  // Workgroups along x of the dispatch grid (see GpuContext.grid).
  groups_x: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> factor: array<f32>;
@group(0) @binding(2) var<storage, read_write> x: array<f32>;

const WORKGROUP_SIZE: u32 = 64u;

// One workgroup: 64 runs of per_invocation consecutive elements.
// One invocation: one run.
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(local_invocation_index) thread: u32) {
  let start = ((workgroup.y * params.groups_x + workgroup.x) * WORKGROUP_SIZE + thread) * params.per_invocation;
  let end = min(params.count, start + params.per_invocation);
  if (start >= end) {
    return;
  }
  let scale = factor[params.factor_index];
  for (var i = start; i < end; i++) {
    x[i] *= scale;
  }
}
