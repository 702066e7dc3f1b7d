// C (+)= A @ B for strided views: A is (m, k), B is (k, n), C is (m, n).
//
// Each operand element is read at offset + row * row_stride + col * col_stride, so a
// transposed operand is the same kernel with its strides swapped: the linear layers use
// X @ W^T (forward), dY @ W (input gradient) and dY^T @ X (weight gradient).
//
// With split-K (workgroup z > 1), split s sums k in [s * k_per_split, (s + 1) * k_per_split)
// and writes its partial C to c at c_offset + s * c_split_stride; reduce_partials.wgsl then
// adds the splits together.

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
  c_split_stride: u32,
  k_per_split: u32,
  // 1: C += A @ B; 0: C = A @ B.
  accumulate: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

// Workgroup 4 x 4 invocations; each invocation owns a 16 x 16 block of C, so a workgroup
// owns a 64 x 64 tile. matmul.ts reads these constants from this file.
const WORKGROUP_X: u32 = 4u;
const WORKGROUP_Y: u32 = 4u;
const THREADS: u32 = WORKGROUP_X * WORKGROUP_Y;
const BLOCK_M: u32 = 16u;
const BLOCK_N: u32 = 16u;
const TILE_M: u32 = WORKGROUP_Y * BLOCK_M;
const TILE_N: u32 = WORKGROUP_X * BLOCK_N;
const TILE_K: u32 = 16u;

// Offsets of the A and B tiles in `tiles`.
const A_TILE: u32 = 0u;
const B_TILE: u32 = TILE_K * TILE_M / 4u;
// Vec4s in `tiles`: the A and B tiles during the k loop, then half of the C tile for the
// write-out. 8 KiB.
const TILES_VEC4S: u32 = TILE_M * TILE_N / 8u;

// A tile: TILE_K rows of k, each TILE_M / 4 vec4s of 4 consecutive rows of A.
// B tile: TILE_K rows of k, each TILE_N / 4 vec4s of 4 consecutive columns of B.
var<workgroup> tiles: array<vec4<f32>, TILES_VEC4S>;

fn load_a(i: u32, kk: u32, k_end: u32) -> f32 {
  let inside = i < params.m && kk < k_end;
  let index = params.a_offset + min(i, params.m - 1u) * params.a_row_stride + min(kk, params.k - 1u) * params.a_col_stride;
  return select(0.0, a[index], inside);
}

fn load_b(kk: u32, j: u32, k_end: u32) -> f32 {
  let inside = j < params.n && kk < k_end;
  let index = params.b_offset + min(kk, params.k - 1u) * params.b_row_stride + min(j, params.n - 1u) * params.b_col_stride;
  return select(0.0, b[index], inside);
}

fn store_one(index: u32, value: f32) {
  if (params.accumulate != 0u) {
    c[index] += value;
  } else {
    c[index] = value;
  }
}

// One workgroup: the 64 x 64 tile of C at (workgroup_id.y, workgroup_id.x), summing the
// k range of split workgroup_id.z in steps of TILE_K.
// One invocation: helps stage each A and B tile in workgroup memory, accumulates its
// 16 x 16 block in registers, and writes it out through workgroup memory.
//
// Why this shape: on lavapipe a storage or workgroup load with a per-invocation index
// becomes a scalar loop over the 8 SIMD lanes, far dearer than a multiply-add. Here 8 vec4
// loads feed 256 multiply-adds per step of k. Tile loads use clamped indices and select()
// instead of branches. The write-out is a loop over staged values, because a fully
// unrolled write of 256 values per invocation took lavapipe (Mesa 25.0) about two minutes
// to compile on a busy two-core machine, against about ten seconds for this kernel.
@compute @workgroup_size(WORKGROUP_X, WORKGROUP_Y)
fn main(
  @builtin(workgroup_id) workgroup: vec3<u32>,
  @builtin(local_invocation_id) local: vec3<u32>,
  @builtin(local_invocation_index) thread: u32,
) {
  let row0 = workgroup.y * TILE_M;
  let col0 = workgroup.x * TILE_N;
  let k_begin = workgroup.z * params.k_per_split;
  let k_end = min(params.k, k_begin + params.k_per_split);

  // acc[r * 4 + q] is row r of the block, columns 4q .. 4q + 3. Only constant indices
  // touch acc, so it stays in registers.
  var acc: array<vec4<f32>, 64>;

  for (var k0 = k_begin; k0 < k_end; k0 += TILE_K) {
    for (var q = thread; q < TILE_K * TILE_M / 4u; q += THREADS) {
      let kk = k0 + q / (TILE_M / 4u);
      let i = row0 + (q % (TILE_M / 4u)) * 4u;
      tiles[A_TILE + q] = vec4<f32>(load_a(i, kk, k_end), load_a(i + 1u, kk, k_end), load_a(i + 2u, kk, k_end), load_a(i + 3u, kk, k_end));
    }
    for (var q = thread; q < TILE_K * TILE_N / 4u; q += THREADS) {
      let kk = k0 + q / (TILE_N / 4u);
      let j = col0 + (q % (TILE_N / 4u)) * 4u;
      tiles[B_TILE + q] = vec4<f32>(load_b(kk, j, k_end), load_b(kk, j + 1u, k_end), load_b(kk, j + 2u, k_end), load_b(kk, j + 3u, k_end));
    }
    workgroupBarrier();

    for (var kk = 0u; kk < TILE_K; kk++) {
      let a_base = A_TILE + kk * (TILE_M / 4u) + local.y * 4u;
      let b_base = B_TILE + kk * (TILE_N / 4u) + local.x * 4u;
      let a0 = tiles[a_base];
      let a1 = tiles[a_base + 1u];
      let a2 = tiles[a_base + 2u];
      let a3 = tiles[a_base + 3u];
      let b0 = tiles[b_base];
      let b1 = tiles[b_base + 1u];
      let b2 = tiles[b_base + 2u];
      let b3 = tiles[b_base + 3u];
      acc[0] += a0.x * b0; acc[1] += a0.x * b1; acc[2] += a0.x * b2; acc[3] += a0.x * b3;
      acc[4] += a0.y * b0; acc[5] += a0.y * b1; acc[6] += a0.y * b2; acc[7] += a0.y * b3;
      acc[8] += a0.z * b0; acc[9] += a0.z * b1; acc[10] += a0.z * b2; acc[11] += a0.z * b3;
      acc[12] += a0.w * b0; acc[13] += a0.w * b1; acc[14] += a0.w * b2; acc[15] += a0.w * b3;
      acc[16] += a1.x * b0; acc[17] += a1.x * b1; acc[18] += a1.x * b2; acc[19] += a1.x * b3;
      acc[20] += a1.y * b0; acc[21] += a1.y * b1; acc[22] += a1.y * b2; acc[23] += a1.y * b3;
      acc[24] += a1.z * b0; acc[25] += a1.z * b1; acc[26] += a1.z * b2; acc[27] += a1.z * b3;
      acc[28] += a1.w * b0; acc[29] += a1.w * b1; acc[30] += a1.w * b2; acc[31] += a1.w * b3;
      acc[32] += a2.x * b0; acc[33] += a2.x * b1; acc[34] += a2.x * b2; acc[35] += a2.x * b3;
      acc[36] += a2.y * b0; acc[37] += a2.y * b1; acc[38] += a2.y * b2; acc[39] += a2.y * b3;
      acc[40] += a2.z * b0; acc[41] += a2.z * b1; acc[42] += a2.z * b2; acc[43] += a2.z * b3;
      acc[44] += a2.w * b0; acc[45] += a2.w * b1; acc[46] += a2.w * b2; acc[47] += a2.w * b3;
      acc[48] += a3.x * b0; acc[49] += a3.x * b1; acc[50] += a3.x * b2; acc[51] += a3.x * b3;
      acc[52] += a3.y * b0; acc[53] += a3.y * b1; acc[54] += a3.y * b2; acc[55] += a3.y * b3;
      acc[56] += a3.z * b0; acc[57] += a3.z * b1; acc[58] += a3.z * b2; acc[59] += a3.z * b3;
      acc[60] += a3.w * b0; acc[61] += a3.w * b1; acc[62] += a3.w * b2; acc[63] += a3.w * b3;
    }
    workgroupBarrier();
  }

  // Write-out in two halves: rows 0..7 of every block, then rows 8..15. The stage contains
  // stage row s = (block row y) * 8 + r, TILE_N / 4 vec4s per stage row.
  let base = params.c_offset + workgroup.z * params.c_split_stride;
  for (var half = 0u; half < 2u; half++) {
    let upper = half == 0u;
    let stage = local.y * 8u * (TILE_N / 4u) + local.x * 4u;
    tiles[stage] = select(acc[32], acc[0], upper);
    tiles[stage + 1u] = select(acc[33], acc[1], upper);
    tiles[stage + 2u] = select(acc[34], acc[2], upper);
    tiles[stage + 3u] = select(acc[35], acc[3], upper);
    tiles[stage + 16u] = select(acc[36], acc[4], upper);
    tiles[stage + 17u] = select(acc[37], acc[5], upper);
    tiles[stage + 18u] = select(acc[38], acc[6], upper);
    tiles[stage + 19u] = select(acc[39], acc[7], upper);
    tiles[stage + 32u] = select(acc[40], acc[8], upper);
    tiles[stage + 33u] = select(acc[41], acc[9], upper);
    tiles[stage + 34u] = select(acc[42], acc[10], upper);
    tiles[stage + 35u] = select(acc[43], acc[11], upper);
    tiles[stage + 48u] = select(acc[44], acc[12], upper);
    tiles[stage + 49u] = select(acc[45], acc[13], upper);
    tiles[stage + 50u] = select(acc[46], acc[14], upper);
    tiles[stage + 51u] = select(acc[47], acc[15], upper);
    tiles[stage + 64u] = select(acc[48], acc[16], upper);
    tiles[stage + 65u] = select(acc[49], acc[17], upper);
    tiles[stage + 66u] = select(acc[50], acc[18], upper);
    tiles[stage + 67u] = select(acc[51], acc[19], upper);
    tiles[stage + 80u] = select(acc[52], acc[20], upper);
    tiles[stage + 81u] = select(acc[53], acc[21], upper);
    tiles[stage + 82u] = select(acc[54], acc[22], upper);
    tiles[stage + 83u] = select(acc[55], acc[23], upper);
    tiles[stage + 96u] = select(acc[56], acc[24], upper);
    tiles[stage + 97u] = select(acc[57], acc[25], upper);
    tiles[stage + 98u] = select(acc[58], acc[26], upper);
    tiles[stage + 99u] = select(acc[59], acc[27], upper);
    tiles[stage + 112u] = select(acc[60], acc[28], upper);
    tiles[stage + 113u] = select(acc[61], acc[29], upper);
    tiles[stage + 114u] = select(acc[62], acc[30], upper);
    tiles[stage + 115u] = select(acc[63], acc[31], upper);
    workgroupBarrier();

    for (var e = thread; e < TILE_M * TILE_N / 2u; e += THREADS) {
      let stage_row = e / TILE_N;
      let i = row0 + (stage_row / 8u) * BLOCK_M + half * 8u + stage_row % 8u;
      let j = col0 + e % TILE_N;
      if (i < params.m && j < params.n) {
        store_one(base + i * params.c_row_stride + j, tiles[e / 4u][e % 4u]);
      }
    }
    workgroupBarrier();
  }
}
