// First pass of the RMSNorm weight gradient: per block of rows, sum of dy * x * rstd per column.
import { Params, type GpuContext, type KernelSpec, type Tensor } from '../context';
import source from './rmsnorm_weight_grad.wgsl';
import { wgslConstant } from './wgsl_constants';

export const rmsNormWeightGradKernel: KernelSpec = { label: 'rmsnorm_weight_grad', source };

export const RMS_NORM_WEIGHT_GRAD_WORKGROUP = wgslConstant(source, 'WORKGROUP_SIZE');

/**
 * Records partials[p, j] = sum of dy[r, j] x[r, j] rstd[r] over rows r of part p. The
 * caller (encodeRmsNormBackward) has checked every size.
 */
export function encodeRmsNormWeightGradPartials(
  ctx: GpuContext,
  args: { rows: number; dim: number; parts: number; rowsPerPart: number; x: Tensor; rstd: Tensor; dy: Tensor; partials: Tensor },
): void {
  const params = new Params().u32(args.rows).u32(args.dim).u32(args.rowsPerPart);
  ctx.dispatch(rmsNormWeightGradKernel, {
    params,
    bindings: [args.x, args.rstd, args.dy, args.partials],
    workgroups: [Math.ceil(args.dim / RMS_NORM_WEIGHT_GRAD_WORKGROUP), args.parts],
  });
}
