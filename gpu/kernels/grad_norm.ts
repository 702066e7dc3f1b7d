// Global gradient norm over many tensors, clipping and a non-finite flag, all on the GPU:
// sums of squares per chunk of every tensor (sum_partials.wgsl), one ordered total
// (grad_norm.wgsl), then each tensor scaled in place by the clip factor (grad_scale.wgsl).
// The trainer reads the 3-element result once per step and skips the step when
// result[2] is 1.
import { elementCount, Params, ShapeError, type GpuContext, type KernelSpec, type Tensor } from '../context';
import source from './grad_norm.wgsl';
import { encodeGradScale } from './grad_scale';
import { checkLength, checkNoAlias } from './matrix_view';
import { MAX_PARTS } from './reduce_partials';
import { chunkLength, encodeSumPartials } from './sum_partials';
import { PARTIALS_SLOT, type Workspace } from './workspace';

export const gradNormKernel: KernelSpec = { label: 'grad_norm', source };

/** Index of each value in the result tensor. */
export const GRAD_NORM_INDEX = 0;
export const CLIP_SCALE_INDEX = 1;
export const NON_FINITE_INDEX = 2;

export interface GradNormArgs {
  grads: Tensor[];
  /** Clip to this global norm; Infinity computes the norm and the flag without scaling. */
  maxNorm: number;
  /** 3 elements: [norm, clip scale, non-finite flag (1 or 0)]. */
  result: Tensor;
  workspace: Workspace;
}

/**
 * Records the global L2 norm of all grads and, unless maxNorm is Infinity, scales every
 * grad by min(1, maxNorm / (norm + 1e-6)). With a NaN or infinite element the scale is 1
 * and the flag is set. A finite gradient whose squares overflow float32 also sets the flag.
 */
export function encodeGradNorm(ctx: GpuContext, args: GradNormArgs): void {
  const label = gradNormKernel.label;
  if (!(args.maxNorm > 0)) throw new ShapeError(`${label}: maxNorm is ${args.maxNorm}; expected a positive number or Infinity`);
  checkLength(label, 'result', args.result, 3);

  // Chunks sized so that all tensors together leave at most MAX_PARTS partials.
  const total = args.grads.reduce((sum, grad) => sum + elementCount(grad.shape), 0);
  const chunk = chunkLength(total, MAX_PARTS - args.grads.length);
  const parts = args.grads.reduce((sum, grad) => sum + Math.ceil(elementCount(grad.shape) / chunk), 0);
  const partials = args.workspace.scratch(Math.max(1, parts), PARTIALS_SLOT);
  checkNoAlias(label, args.result, 'result', { workspace: partials });

  let offset = 0;
  for (const grad of args.grads) {
    checkNoAlias(label, partials, 'workspace', { grad });
    offset += encodeSumPartials(ctx, { count: elementCount(grad.shape), x: grad, square: true, chunk, partials, outOffset: offset });
  }

  const maxNorm = Number.isFinite(args.maxNorm) ? args.maxNorm : 3.4e38;
  ctx.dispatch(gradNormKernel, { params: new Params().u32(offset).f32(maxNorm), bindings: [partials, args.result], workgroups: [1] });

  if (!Number.isFinite(args.maxNorm)) return;
  for (const grad of args.grads) {
    checkNoAlias(label, grad, 'grad', { result: args.result });
    encodeGradScale(ctx, { x: grad, factor: args.result, factorIndex: CLIP_SCALE_INDEX });
  }
}
