// RMSNorm backward: the input gradient (one invocation per row) and the weight gradient
// (partial sums over blocks of rows, then reduce_partials).
import { Params, type GpuContext, type KernelSpec, type Tensor } from '../context';
import { checkDim, checkLength, checkNoAlias, wholeMatrix } from './matrix_view';
import { encodeReducePartials, planRowSplit } from './reduce_partials';
import { MAX_NORM_DIM } from './rmsnorm';
import source from './rmsnorm_backward.wgsl';
import { encodeRmsNormWeightGradPartials, RMS_NORM_WEIGHT_GRAD_WORKGROUP } from './rmsnorm_weight_grad';
import { wgslConstant } from './wgsl_constants';
import type { Workspace } from './workspace';

export const rmsNormBackwardKernel: KernelSpec = { label: 'rmsnorm_backward', source };

const WORKGROUP_SIZE = wgslConstant(source, 'WORKGROUP_SIZE');

export interface RmsNormBackwardArgs {
  rows: number;
  dim: number;
  /** Forward input (rows, dim), weight (dim) and saved rstd (rows). */
  x: Tensor;
  weight: Tensor;
  rstd: Tensor;
  /** Gradient of the loss with respect to the norm's output (rows, dim). */
  dy: Tensor;
  /** Input gradient (rows, dim). */
  dx: Tensor;
  /** dx += gradient, as a prenorm block adds into the residual stream's gradient. */
  accumulate?: boolean;
  /** Weight gradient (dim); skipped when absent. */
  dWeight?: Tensor;
  /** dWeight += gradient instead of overwriting it. */
  accumulateWeight?: boolean;
  /** Scratch for the weight gradient's partial sums; required with dWeight. */
  workspace?: Workspace;
}

/** Records dx (+)= RMSNorm'(dy) and, when dWeight is given, dWeight (+)= sum over rows of dy x rstd. */
export function encodeRmsNormBackward(ctx: GpuContext, args: RmsNormBackwardArgs): void {
  const label = rmsNormBackwardKernel.label;
  const { rows, dim } = args;
  checkDim(label, 'rows', rows, 0);
  checkDim(label, 'dim', dim, 1, MAX_NORM_DIM);
  if (rows === 0) return;
  checkLength(label, 'x', args.x, rows * dim);
  checkLength(label, 'weight', args.weight, dim);
  checkLength(label, 'rstd', args.rstd, rows);
  checkLength(label, 'dy', args.dy, rows * dim);
  checkLength(label, 'dx', args.dx, rows * dim);
  checkNoAlias(label, args.dx, 'dx', { x: args.x, weight: args.weight, rstd: args.rstd, dy: args.dy });

  const [groupsX, groupsY] = ctx.grid(rows, WORKGROUP_SIZE);
  const params = new Params().u32(rows).u32(dim).u32(args.accumulate ? 1 : 0).u32(groupsX);
  ctx.dispatch(rmsNormBackwardKernel, {
    params,
    bindings: [args.x, args.weight, args.rstd, args.dy, args.dx],
    workgroups: [groupsX, groupsY],
  });

  if (!args.dWeight) return;
  if (!args.workspace) throw new Error(`${label}: dWeight requires a Workspace for its partial sums`);
  checkLength(label, 'dWeight', args.dWeight, dim);
  const split = planRowSplit(rows, Math.ceil(dim / RMS_NORM_WEIGHT_GRAD_WORKGROUP));
  const partials = args.workspace.scratch(split.parts * dim);
  checkNoAlias(label, partials, 'workspace', { x: args.x, rstd: args.rstd, dy: args.dy });
  checkNoAlias(label, args.dWeight, 'dWeight', { workspace: partials });
  encodeRmsNormWeightGradPartials(ctx, { rows, dim, ...split, x: args.x, rstd: args.rstd, dy: args.dy, partials });
  encodeReducePartials(ctx, {
    rows: 1,
    cols: dim,
    parts: split.parts,
    partials,
    out: wholeMatrix(args.dWeight, dim),
    accumulate: args.accumulateWeight,
  });
}
