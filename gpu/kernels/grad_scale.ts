// In-place scaling of a tensor by a factor that lives on the GPU (gradient clipping).
import { elementCount, Params, type GpuContext, type KernelSpec, type Tensor } from '../context';
import { elementGrid } from './element_grid';
import { checkDim, checkLength, checkNoAlias } from './matrix_view';
import source from './grad_scale.wgsl';
import { wgslConstant } from './wgsl_constants';

export const gradScaleKernel: KernelSpec = { label: 'grad_scale', source };

const WORKGROUP_SIZE = wgslConstant(source, 'WORKGROUP_SIZE');

/** Records x *= factor[factorIndex] over all of x; each invocation scales a run of elements. */
export function encodeGradScale(ctx: GpuContext, args: { x: Tensor; factor: Tensor; factorIndex: number }): void {
  const label = gradScaleKernel.label;
  const count = elementCount(args.x.shape);
  checkDim(label, 'factorIndex', args.factorIndex, 0);
  checkLength(label, 'factor', args.factor, args.factorIndex + 1);
  checkNoAlias(label, args.x, 'x', { factor: args.factor });
  if (count === 0) return;
  const { perInvocation, groupsX, groupsY } = elementGrid(ctx, count, WORKGROUP_SIZE);
  const params = new Params().u32(count).u32(args.factorIndex).u32(perInvocation).u32(groupsX);
  ctx.dispatch(gradScaleKernel, { params, bindings: [args.factor, args.x], workgroups: [groupsX, groupsY] });
}
