// Selective scan, after scan_backward_subgroup.wgsl: adds the per-workgroup partial sums
// of dB and dC over the tiles of channels of each group and writes them into the B and C
// columns of dxbc. The sums run in a fixed order, so every run gives the same result.
//
//   partials : (steps, batch, groups, tiles, partial_width), entries 0..N_STATE-1 dB and
//              N_STATE..2 N_STATE-1 dC of one tile
//   out      : rows of out_stride floats (only this span's rows are bound); dB of group g
//              at b_offset + g * N_STATE, dC at c_offset + g * N_STATE

struct Params {
  rows: u32,
  groups: u32,
  tiles: u32,
  partial_width: u32,
  out_stride: u32,
  b_offset: u32,
  c_offset: u32,
  groups_x: u32,
}

const N_STATE: u32 = 16u;
const WORKGROUP_SIZE: u32 = 64u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> partials: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

// One invocation per (row, group, column), column < 2 * N_STATE.
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let index = (wid.y * p.groups_x + wid.x) * WORKGROUP_SIZE + lid;
  let width = 2u * N_STATE;
  if (index >= p.rows * p.groups * width) {
    return;
  }
  let column = index % width;
  let row_group = index / width;
  let group = row_group % p.groups;
  let row = row_group / p.groups;

  let base = row_group * p.tiles * p.partial_width + column;
  var sum = 0.0;
  for (var tile = 0u; tile < p.tiles; tile++) {
    sum += partials[base + tile * p.partial_width];
  }
  let n = column % N_STATE;
  let offset = select(p.c_offset, p.b_offset, column < N_STATE);
  out[row * p.out_stride + offset + group * N_STATE + n] = sum;
}
