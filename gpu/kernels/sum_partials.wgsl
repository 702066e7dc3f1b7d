// First pass of a vector sum: each invocation adds one chunk of x, optionally weighted by
// w or squared, and writes scale * (chunk sum) as one partial. reduce_partials.wgsl (or
// grad_norm.wgsl) adds the partials.

struct Params {
  count: u32,
  chunk: u32,
  x_offset: u32,
  out_offset: u32,
  scale: f32,
  // 1: multiply x[i] by w[i] before adding.
  has_weights: u32,
  // Workgroups along x of the dispatch grid (see GpuContext.grid).
  groups_x: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
// w (count), read only when has_weights is 1.
@group(0) @binding(2) var<storage, read> w: array<f32>;
// partials: chunk p writes partials[out_offset + p].
@group(0) @binding(3) var<storage, read_write> partials: array<f32>;

// Add x[i]^2 instead of x[i] (sum of squares for the gradient norm).
override SQUARE: bool = false;

const WORKGROUP_SIZE: u32 = 64u;

// One workgroup: 64 consecutive chunks.
// One invocation: chunk p, elements [p * chunk, min(count, (p + 1) * chunk)), in order.
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(local_invocation_index) thread: u32) {
  let p = (workgroup.y * params.groups_x + workgroup.x) * WORKGROUP_SIZE + thread;
  let first = p * params.chunk;
  if (first >= params.count) {
    return;
  }
  let last = min(params.count, first + params.chunk);

  var sum = 0.0;
  for (var i = first; i < last; i++) {
    var value = x[params.x_offset + i];
    if (SQUARE) {
      value = value * value;
    }
    if (params.has_weights != 0u) {
      value = value * w[i];
    }
    sum += value;
  }
  partials[params.out_offset + p] = params.scale * sum;
}
