// One AdamW step on one parameter tensor, as PyTorch's torch.optim.AdamW:
//   p *= 1 - lr * weight_decay                      (decoupled decay; 0 for excluded tensors)
//   m = lerp(m, g, 1 - beta1);  v = beta2 v + (1 - beta2) g^2
//   p -= (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
// The bias corrections are computed on the CPU in float64 and passed in.

struct Params {
  count: u32,
  beta1: f32,
  beta2: f32,
  eps: f32,
  // 1 - lr * weight_decay.
  decay_factor: f32,
  // lr / (1 - beta1^t).
  step_size: f32,
  // sqrt(1 - beta2^t).
  bias_correction2_sqrt: f32,
  // 1: multiply g by grad_scale[grad_scale_index] (the clip scale from grad_norm.wgsl).
  has_grad_scale: u32,
  grad_scale_index: u32,
  // Consecutive elements per invocation (see element_grid.ts).
  per_invocation: u32,
  // Workgroups along x of the dispatch grid (see GpuContext.grid).
  groups_x: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;
@group(0) @binding(5) var<storage, read> grad_scale: array<f32>;

const WORKGROUP_SIZE: u32 = 64u;

// One workgroup: 64 runs of per_invocation consecutive elements.
// One invocation: one run.
@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(workgroup_id) workgroup: vec3<u32>, @builtin(local_invocation_index) thread: u32) {
  let start = ((workgroup.y * params.groups_x + workgroup.x) * WORKGROUP_SIZE + thread) * params.per_invocation;
  let end = min(params.count, start + params.per_invocation);
  var scale = 1.0;
  if (params.has_grad_scale != 0u && start < end) {
    scale = grad_scale[params.grad_scale_index];
  }

  for (var i = start; i < end; i++) {
    let g = grad[i] * scale;
    let first = m[i] + (1.0 - params.beta1) * (g - m[i]);
    let second = params.beta2 * v[i] + (1.0 - params.beta2) * g * g;
    m[i] = first;
    v[i] = second;

    let denominator = sqrt(second) / params.bias_correction2_sqrt + params.eps;
    param[i] = param[i] * params.decay_factor - params.step_size * first / denominator;
  }
}
