// Vector sums in two passes: chunks of the vector (sum_partials.wgsl), then the chunks'
// partials (reduce_partials.wgsl). Used for the mean loss and the gradient norm.
import { Params, ShapeError, type GpuContext, type KernelSpec, type Tensor } from '../context';
import { checkDim, checkLength, checkNoAlias, type MatrixView } from './matrix_view';
import { encodeReducePartials, MAX_PARTS } from './reduce_partials';
import source from './sum_partials.wgsl';
import { wgslConstant } from './wgsl_constants';
import { PARTIALS_SLOT, type Workspace } from './workspace';

export const sumPartialsKernel: KernelSpec = { label: 'sum_partials', source };

const WORKGROUP_SIZE = wgslConstant(source, 'WORKGROUP_SIZE');

/** Minimum elements per chunk. */
const MIN_CHUNK = 256;
/** Maximum elements per chunk, under the OpenGL ES fallback's limit of 65,535 loop iterations. */
export const MAX_CHUNK = 16384;

/** Chunk length for `count` elements so that there are at most `maxParts` chunks. */
export function chunkLength(count: number, maxParts: number): number {
  const chunk = Math.max(MIN_CHUNK, Math.ceil(count / maxParts));
  if (chunk > MAX_CHUNK) {
    throw new ShapeError(`sum_partials: ${count} elements need chunks of ${chunk}, over ${MAX_CHUNK}; sum fewer elements per call.`);
  }
  return chunk;
}

export interface SumPartialsArgs {
  count: number;
  /** Elements x[xOffset .. xOffset + count). */
  x: Tensor;
  xOffset?: number;
  /** Per-element weights (count). */
  weights?: Tensor | null;
  square?: boolean;
  /** Multiplies every partial. Defaults to 1. */
  scale?: number;
  chunk: number;
  /** Partial p goes to partials[outOffset + p]. */
  partials: Tensor;
  outOffset?: number;
}

/** Records the first pass; returns the number of partials written, ceil(count / chunk). */
export function encodeSumPartials(ctx: GpuContext, args: SumPartialsArgs): number {
  const label = sumPartialsKernel.label;
  const { count, chunk } = args;
  const xOffset = args.xOffset ?? 0;
  const outOffset = args.outOffset ?? 0;
  checkDim(label, 'count', count, 0);
  checkDim(label, 'chunk', chunk, 1, MAX_CHUNK);
  const parts = Math.ceil(count / chunk);
  if (parts === 0) return 0;
  checkLength(label, 'x', args.x, xOffset + count);
  if (args.weights) checkLength(label, 'weights', args.weights, count);
  checkLength(label, 'partials', args.partials, outOffset + parts);
  checkNoAlias(label, args.partials, 'partials', { x: args.x, weights: args.weights });

  const [groupsX, groupsY] = ctx.grid(parts, WORKGROUP_SIZE);
  const params = new Params()
    .u32(count)
    .u32(chunk)
    .u32(xOffset)
    .u32(outOffset)
    .f32(args.scale ?? 1)
    .u32(args.weights ? 1 : 0)
    .u32(groupsX);
  ctx.dispatch(sumPartialsKernel, {
    params,
    // Without weights x fills their binding. The shader never reads it then, and read-only
    // bindings may share a buffer.
    bindings: [args.x, args.weights ?? args.x, args.partials],
    workgroups: [groupsX, groupsY],
    constants: { SQUARE: args.square ? 1 : 0 },
  });
  return parts;
}

/**
 * Records out (+)= scale * sum of x (weighted by `weights`, or of squares), in two passes
 * through the workspace. `out` is a single element.
 */
export function encodeSum(
  ctx: GpuContext,
  args: Omit<SumPartialsArgs, 'chunk' | 'partials' | 'outOffset'> & { out: MatrixView; accumulate?: boolean; workspace: Workspace },
): void {
  const chunk = chunkLength(args.count, MAX_PARTS);
  const partials = args.workspace.scratch(Math.max(1, Math.ceil(args.count / chunk)), PARTIALS_SLOT);
  const parts = encodeSumPartials(ctx, { ...args, chunk, partials });
  if (parts === 0) {
    // An empty sum still defines out: zero, or unchanged when accumulating.
    if (!args.accumulate) encodeZero(ctx, args.out, partials);
    return;
  }
  encodeReducePartials(ctx, { rows: 1, cols: 1, parts, partStride: 1, partials, out: args.out, accumulate: args.accumulate });
}

/** Sets the single element of out to 0 by clearing the scratch and reducing it as one part. */
function encodeZero(ctx: GpuContext, out: MatrixView, scratch: Tensor): void {
  ctx.clear(scratch);
  encodeReducePartials(ctx, { rows: 1, cols: 1, parts: 1, partials: scratch, out });
}
