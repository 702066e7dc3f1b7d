// AdamW, one parameter tensor per call, matching torch.optim.AdamW (decoupled weight decay,
// bias correction with the step count). The caller excludes A_log, D, biases and norm
// weights from decay with `decay: false`.
import { elementCount, Params, ShapeError, type GpuContext, type KernelSpec, type Tensor } from '../context';
import source from './adamw.wgsl';
import { elementGrid } from './element_grid';
import { checkDim, checkLength, checkNoAlias } from './matrix_view';
import { wgslConstant } from './wgsl_constants';

export const adamWKernel: KernelSpec = { label: 'adamw', source };

const WORKGROUP_SIZE = wgslConstant(source, 'WORKGROUP_SIZE');

export interface AdamWHyperparameters {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/** torch.optim.AdamW's defaults. */
export const ADAMW_DEFAULTS: AdamWHyperparameters = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-2 };

export interface AdamWArgs extends AdamWHyperparameters {
  param: Tensor;
  grad: Tensor;
  /** First and second moment estimates, zero before step 1; same size as param. */
  m: Tensor;
  v: Tensor;
  /** 1 for the first update. */
  step: number;
  /** Apply weight decay to this tensor (false for A_log, D, biases and norm weights). */
  decay: boolean;
  /** Multiply the gradient by gradScale.tensor[gradScale.index] (the clip scale). */
  gradScale?: { tensor: Tensor; index: number } | null;
}

/** Records one AdamW update of param, m and v; each invocation updates a run of elements. */
export function encodeAdamW(ctx: GpuContext, args: AdamWArgs): void {
  const label = adamWKernel.label;
  const count = elementCount(args.param.shape);
  checkDim(label, 'step', args.step, 1);
  for (const [name, value] of Object.entries({ lr: args.lr, eps: args.eps, weightDecay: args.weightDecay })) {
    if (!(value >= 0) || !Number.isFinite(value)) throw new ShapeError(`${label}: ${name} is ${value}; expected a finite number >= 0`);
  }
  for (const [name, value] of Object.entries({ beta1: args.beta1, beta2: args.beta2 })) {
    if (!(value >= 0 && value < 1)) throw new ShapeError(`${label}: ${name} is ${value}; expected a number in [0, 1)`);
  }
  checkLength(label, 'grad', args.grad, count);
  checkLength(label, 'm', args.m, count);
  checkLength(label, 'v', args.v, count);
  checkNoAlias(label, args.param, 'param', { grad: args.grad, m: args.m, v: args.v, gradScale: args.gradScale?.tensor });
  checkNoAlias(label, args.m, 'm', { grad: args.grad, v: args.v, gradScale: args.gradScale?.tensor });
  checkNoAlias(label, args.v, 'v', { grad: args.grad, gradScale: args.gradScale?.tensor });
  if (args.gradScale) checkLength(label, 'gradScale', args.gradScale.tensor, args.gradScale.index + 1);
  if (count === 0) return;

  // Bias corrections in float64, as PyTorch computes them in Python floats.
  const biasCorrection1 = 1 - args.beta1 ** args.step;
  const biasCorrection2 = 1 - args.beta2 ** args.step;
  const { perInvocation, groupsX, groupsY } = elementGrid(ctx, count, WORKGROUP_SIZE);
  const params = new Params()
    .u32(count)
    .f32(args.beta1)
    .f32(args.beta2)
    .f32(args.eps)
    .f32(1 - args.lr * (args.decay ? args.weightDecay : 0))
    .f32(args.lr / biasCorrection1)
    .f32(Math.sqrt(biasCorrection2))
    .u32(args.gradScale ? 1 : 0)
    .u32(args.gradScale?.index ?? 0)
    .u32(perInvocation)
    .u32(groupsX);
  ctx.dispatch(adamWKernel, {
    params,
    // Without a scale the gradient fills its binding. The shader never reads it then, and
    // read-only bindings may share a buffer.
    bindings: [args.param, args.grad, args.m, args.v, args.gradScale?.tensor ?? args.grad],
    workgroups: [groupsX, groupsY],
  });
}
