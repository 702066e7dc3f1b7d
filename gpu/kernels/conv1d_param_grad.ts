// First pass of the conv1d weight and bias gradients: partial sums over blocks of time steps.
import { Params, type GpuContext, type KernelSpec, type Tensor } from '../context';
import type { ConvDims } from './conv1d';
import source from './conv1d_param_grad.wgsl';
import type { MatrixView } from './matrix_view';
import { wgslConstant } from './wgsl_constants';

export const conv1dParamGradKernel: KernelSpec = { label: 'conv1d_param_grad', source };

export const CONV_PARAM_GRAD_WORKGROUP = wgslConstant(source, 'WORKGROUP_SIZE');

/**
 * Records partials (parts, DI * K + DI): per part of stepsPerPart time steps, dweight
 * (DI, K) then dbias (DI). The caller (encodeConv1dBackward) has checked every size.
 */
export function encodeConv1dParamGradPartials(
  ctx: GpuContext,
  args: ConvDims & { parts: number; stepsPerPart: number; g: Tensor; x: MatrixView; state: Tensor | null; partials: Tensor },
): void {
  const params = new Params()
    .u32(args.B)
    .u32(args.L)
    .u32(args.DI)
    .u32(args.K)
    .u32(args.x.colOffset)
    .u32(args.x.rowStride)
    .u32(args.state ? 1 : 0)
    .u32(args.stepsPerPart);
  ctx.dispatch(conv1dParamGradKernel, {
    params,
    // Without a state g fills its binding. The shader never reads it then, and read-only
    // bindings may share a buffer.
    bindings: [args.g, args.x.tensor, args.state ?? args.g, args.partials],
    workgroups: [Math.ceil(args.DI / CONV_PARAM_GRAD_WORKGROUP), args.parts],
  });
}
