// RMSNorm forward (mamba_ssm's RMSNorm, prenorm): y = x * rstd * weight per row, with
// rstd = 1 / sqrt(mean(x^2) + eps) saved for the backward pass.
import { Params, type GpuContext, type KernelSpec, type Tensor } from '../context';
import { checkDim, checkLength, checkNoAlias } from './matrix_view';
import source from './rmsnorm.wgsl';
import { wgslConstant } from './wgsl_constants';

export const rmsNormKernel: KernelSpec = { label: 'rmsnorm', source };

const WORKGROUP_SIZE = wgslConstant(source, 'WORKGROUP_SIZE');

/** mamba_ssm's RMSNorm default. */
export const RMS_NORM_EPS = 1e-5;

/** Maximum row width (dim); one invocation loops over its row twice. */
export const MAX_NORM_DIM = 16384;

export interface RmsNormArgs {
  rows: number;
  /** Width of a row (D). */
  dim: number;
  /** Input (rows, dim), contiguous. */
  x: Tensor;
  /** Weight (dim). */
  weight: Tensor;
  /** Output (rows, dim). */
  y: Tensor;
  /** 1 / RMS of each row (rows), for the backward pass. */
  rstd: Tensor;
  /** Defaults to RMS_NORM_EPS. */
  eps?: number;
}

/** Records y = RMSNorm(x) * weight and rstd; one invocation per row. */
export function encodeRmsNorm(ctx: GpuContext, args: RmsNormArgs): void {
  const label = rmsNormKernel.label;
  const { rows, dim } = args;
  checkDim(label, 'rows', rows, 0);
  checkDim(label, 'dim', dim, 1, MAX_NORM_DIM);
  if (rows === 0) return;
  checkLength(label, 'x', args.x, rows * dim);
  checkLength(label, 'weight', args.weight, dim);
  checkLength(label, 'y', args.y, rows * dim);
  checkLength(label, 'rstd', args.rstd, rows);
  checkNoAlias(label, args.y, 'y', { x: args.x, weight: args.weight, rstd: args.rstd });
  checkNoAlias(label, args.rstd, 'rstd', { x: args.x, weight: args.weight });

  const [groupsX, groupsY] = ctx.grid(rows, WORKGROUP_SIZE);
  const params = new Params().u32(rows).u32(dim).f32(args.eps ?? RMS_NORM_EPS).u32(groupsX);
  ctx.dispatch(rmsNormKernel, { params, bindings: [args.x, args.weight, args.y, args.rstd], workgroups: [groupsX, groupsY] });
}
