// C (+)= A @ B for strided views on devices with subgroups: the same product, views and
// split-K layout as matmul.wgsl, tiled for a software rasterizer such as lavapipe.
//
// lavapipe runs 8 invocations in SIMD lanes and turns every storage load with a
// per-invocation address into a branchy loop over the lanes, while arithmetic on registers
// costs one instruction per 8 lanes. matmul.wgsl stages tiles in workgroup memory behind
// barriers, which lavapipe runs as coroutines. Here a workgroup is LANES invocations, one
// subgroup, and needs no workgroup memory:
//   - lane l owns rows row0 + l + q * LANES of C for q < ROWS_PER_LANE, and the workgroup
//     owns COLUMNS columns from col0, so an invocation accumulates ROWS_PER_LANE x COLUMNS
//     values in registers;
//   - per step of k, each lane loads its ROWS_PER_LANE values of A, and lane l loads
//     B[k, col0 + l + p * LANES] for p < B_LOADS; subgroupBroadcast hands every B value to
//     every lane.
// So each step of k costs ROWS_PER_LANE + B_LOADS loads for ROWS_PER_LANE x COLUMNS
// multiply-adds per lane. The broadcast lane index must be a constant, so matmul.ts
// expands the per-value statements at the `{{...}}` marks below.
//
// Rows and columns past the edges load clamped indices and skip their stores. With split-K
// (workgroup z > 1), split s sums k in [s * k_per_split, (s + 1) * k_per_split) and writes
// to c at c_offset + s * c_split_stride, as in matmul.wgsl. c has a column stride so that
// matmul.ts can compute C^T = B^T A^T when C has more columns than rows.
enable subgroups;
// The analysis cannot see that the loop bounds come from a uniform buffer.
diagnostic(off, subgroup_uniformity);

struct Params {
  m: u32,
  n: u32,
  k: u32,
  a_offset: u32,
  a_row_stride: u32,
  a_col_stride: u32,
  b_offset: u32,
  b_row_stride: u32,
  b_col_stride: u32,
  c_offset: u32,
  c_row_stride: u32,
  c_col_stride: u32,
  c_split_stride: u32,
  k_per_split: u32,
  // 1: C += A @ B; 0: C = A @ B.
  accumulate: u32,
}

// Set per tiling by specialize(); the expanded statements match them. LANES is at most the
// device's smallest subgroup size, so a workgroup is one subgroup.
const LANES: u32 = 8u;
const ROWS_PER_LANE: u32 = 8u;
const COLUMNS: u32 = 32u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

@compute @workgroup_size(LANES)
fn main(
  @builtin(workgroup_id) workgroup: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
  @builtin(subgroup_invocation_id) lane: u32,
) {
  let row0 = workgroup.x * LANES * ROWS_PER_LANE + lid;
  let col0 = workgroup.y * COLUMNS;
  let loader = lane % LANES;
  let k_begin = workgroup.z * params.k_per_split;
  let k_end = min(params.k, k_begin + params.k_per_split);
  let last_row = params.m - 1u;
  let last_col = params.n - 1u;
  {{bases}}
  {{declare}}

  var a_k = k_begin * params.a_col_stride;
  var b_k = k_begin * params.b_row_stride;
  for (var kk = k_begin; kk < k_end; kk++) {
    {{load}}
    {{update}}
    a_k += params.a_col_stride;
    b_k += params.b_row_stride;
  }

  // One store site in a loop: lavapipe spends a fraction of a second compiling each
  // storage access site, and an unrolled write-out would have ROWS_PER_LANE x COLUMNS.
  var values: array<f32, ROWS_PER_LANE * COLUMNS>;
  {{gather}}
  let c_base = params.c_offset + workgroup.z * params.c_split_stride;
  for (var e = 0u; e < ROWS_PER_LANE * COLUMNS; e++) {
    let i = row0 + (e / COLUMNS) * LANES;
    let j = col0 + e % COLUMNS;
    if (i < params.m && j < params.n) {
      let index = c_base + i * params.c_row_stride + j * params.c_col_stride;
      if (params.accumulate != 0u) {
        c[index] += values[e];
      } else {
        c[index] = values[e];
      }
    }
  }
}
