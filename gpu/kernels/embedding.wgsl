// Embedding lookup: out[r, d] = table[codes[r], d]; rows whose code is not below V get zeros.

struct Params {
  rows: u32,
  dim: u32,
  vocabulary: u32,
  out_offset: u32,
  out_row_stride: u32,
  // Consecutive elements per invocation (see element_grid.ts).
  per_invocation: u32,
  // Workgroups along x of the dispatch grid (see GpuContext.grid).
  groups_x: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
// codes (rows), one class index per token row t * B + b.
@group(0) @binding(1) var<storage, read> codes: array<u32>;
// table (V, dim), PyTorch's nn.Embedding.weight.
@group(0) @binding(2) var<storage, read> table: array<f32>;
// out: (rows, dim) strided view.
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

const WORKGROUP_SIZE: u32 = 64u;

// One workgroup: 64 runs of per_invocation consecutive output elements (r, d).
// One invocation: one run, reading each row's code once.
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(local_invocation_index) thread: u32) {
  let first = ((workgroup.y * params.groups_x + workgroup.x) * WORKGROUP_SIZE + thread) * params.per_invocation;
  let count = params.rows * params.dim;
  if (first >= count) {
    return;
  }
  let last = min(count, first + params.per_invocation);
  var row = first / params.dim;
  var d = first % params.dim;
  var code = codes[row];

  for (var e = first; e < last; e++) {
    var value = 0.0;
    if (code < params.vocabulary) {
      value = table[code * params.dim + d];
    }
    out[params.out_offset + row * params.out_row_stride + d] = value;

    d++;
    if (d == params.dim && e + 1u < last) {
      d = 0u;
      row++;
      code = codes[row];
    }
  }
}
