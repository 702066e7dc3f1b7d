// Cross-entropy over V classes per row, with the logits' gradient in the same pass:
//   loss[r] = logsumexp(logits[r]) - logits[r, target[r]]
//   dlogits[r, j] = w[r] * (softmax(logits[r])_j - [j == target[r]]) / normalizer
// The gradient overwrites the logits in place. Rows whose target is not below V get zero
// loss and zero gradient.

struct Params {
  rows: u32,
  classes: u32,
  logits_row_stride: u32,
  inverse_normalizer: f32,
  // 1: w[r] = weights[r]; 0: w[r] = 1.
  has_weights: u32,
  // 1: overwrite the logits with the gradient; 0: loss only.
  write_gradient: u32,
  // Workgroups along x of the dispatch grid (see GpuContext.grid).
  groups_x: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
// logits (rows, V) with row stride logits_row_stride, replaced by dlogits.
@group(0) @binding(1) var<storage, read_write> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<u32>;
// weights (rows), read only when has_weights is 1.
@group(0) @binding(3) var<storage, read> weights: array<f32>;
@group(0) @binding(4) var<storage, read_write> row_loss: array<f32>;

const WORKGROUP_SIZE: u32 = 64u;

// One workgroup: 64 consecutive rows.
// One invocation: one row in three passes over its V logits: the maximum, the sum of
// exp(logit - maximum), then the gradient. Subtracting the maximum keeps exp() <= 1.
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(local_invocation_index) thread: u32) {
  let row = (workgroup.y * params.groups_x + workgroup.x) * WORKGROUP_SIZE + thread;
  if (row >= params.rows) {
    return;
  }
  let base = row * params.logits_row_stride;
  let target_class = targets[row];

  var maximum = logits[base];
  for (var j = 1u; j < params.classes; j++) {
    maximum = max(maximum, logits[base + j]);
  }
  var sum = 0.0;
  for (var j = 0u; j < params.classes; j++) {
    sum += exp(logits[base + j] - maximum);
  }

  let valid = target_class < params.classes;
  var loss = 0.0;
  if (valid) {
    loss = maximum + log(sum) - logits[base + target_class];
  }
  row_loss[row] = loss;

  if (params.write_gradient == 0u) {
    return;
  }
  var coefficient = params.inverse_normalizer;
  if (params.has_weights != 0u) {
    coefficient *= weights[row];
  }
  if (!valid) {
    coefficient = 0.0;
  }
  let inverse_sum = 1.0 / sum;
  for (var j = 0u; j < params.classes; j++) {
    let probability = exp(logits[base + j] - maximum) * inverse_sum;
    logits[base + j] = coefficient * (probability - select(0.0, 1.0, j == target_class));
  }
}
