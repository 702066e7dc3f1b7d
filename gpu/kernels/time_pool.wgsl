// Time re-layout of SaShiMi's pooling layers between a time-major sequence (L, B, C) and
// its pooled form (L / p, B, p * C), with an optional delay of one pooled step:
//   pool:   out[l, b, j * C + c] = in[(l + shift) * p + j, b, c], zero past the end
//   unpool: out[l * p + j, b, c] = in[l - shift, b, j * C + c], zero before the start
// One output element per loop iteration. The CPU reference is reference/time_pool.ts.

struct Params {
  batch: u32,
  // Time steps L of the unpooled sequence.
  steps: u32,
  factor: u32,
  // Channels C of the unpooled sequence.
  channels: u32,
  shift: u32,
  // 1 adds to out, 0 overwrites it.
  accumulate: u32,
  // Consecutive elements per invocation (see element_grid.ts).
  per_invocation: u32,
  // Workgroups along x of the dispatch grid (see GpuContext.grid).
  groups_x: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

const DIRECTION_POOL: u32 = 0u;
const DIRECTION_UNPOOL: u32 = 1u;
override DIRECTION: u32 = DIRECTION_POOL;

const WORKGROUP_SIZE: u32 = 64u;

// Value of output element e, read from the input or zero where the shift leaves no source.
fn source_value(e: u32) -> f32 {
  let C = params.channels;
  let B = params.batch;
  let p = params.factor;
  if (DIRECTION == DIRECTION_POOL) {
    let width = p * C;
    let row = e / width;
    let col = e % width;
    let l = row / B;
    let b = row % B;
    let t = (l + params.shift) * p + col / C;
    if (t >= params.steps) {
      return 0.0;
    }
    return input[(t * B + b) * C + col % C];
  }
  let row = e / C;
  let t = row / B;
  let b = row % B;
  let l = t / p;
  if (l < params.shift) {
    return 0.0;
  }
  return input[((l - params.shift) * B + b) * p * C + (t % p) * C + e % C];
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(local_invocation_index) thread: u32) {
  let first = ((workgroup.y * params.groups_x + workgroup.x) * WORKGROUP_SIZE + thread) * params.per_invocation;
  let count = params.steps * params.batch * params.channels;
  let last = min(count, first + params.per_invocation);
  for (var e = first; e < last; e++) {
    let value = source_value(e);
    if (params.accumulate == 1u) {
      out[e] += value;
    } else {
      out[e] = value;
    }
  }
}
