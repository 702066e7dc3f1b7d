// First pass of the embedding gradient dtable[v, d] = sum of dout[r, d] over rows r with
// codes[r] = v, without float atomics: each part of the rows accumulates into its own
// (V, dim) slab of partial sums, and reduce_partials.wgsl adds the slabs.

struct Params {
  rows: u32,
  dim: u32,
  vocabulary: u32,
  rows_per_part: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> codes: array<u32>;
// dout (rows, dim), contiguous.
@group(0) @binding(2) var<storage, read> dout: array<f32>;
// partials (parts, V, dim).
@group(0) @binding(3) var<storage, read_write> partials: array<f32>;

const WORKGROUP_SIZE: u32 = 64u;

// One workgroup: 64 consecutive columns d of part workgroup_id.y.
// One invocation: column d of one part. It owns partials[part, :, d], so it clears that
// column of the slab and then adds its rows into it with plain read-modify-writes; no other
// invocation touches those addresses. Codes not below V are skipped.
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(local_invocation_index) thread: u32) {
  let d = workgroup.x * WORKGROUP_SIZE + thread;
  if (d >= params.dim) {
    return;
  }
  let part = workgroup.y;
  let slab = part * params.vocabulary * params.dim;

  for (var v = 0u; v < params.vocabulary; v++) {
    partials[slab + v * params.dim + d] = 0.0;
  }

  let first = part * params.rows_per_part;
  let last = min(params.rows, first + params.rows_per_part);
  for (var row = first; row < last; row++) {
    let code = codes[row];
    if (code < params.vocabulary) {
      partials[slab + code * params.dim + d] += dout[row * params.dim + d];
    }
  }
}
