// Dispatch sizes for kernels that give each invocation a run of consecutive elements.
//
// On lavapipe, one element per invocation leaves most of the time in fixed per-invocation
// and per-workgroup costs. (Its generated code allocates a coroutine for every workgroup.)
// SiLU over 16,384 x 128 elements took 124 ms of CPU time that way, and 28 ms with 32
// elements per invocation (lavapipe, Mesa 25.0, on this project's two-core machines).
// Small tensors keep one element per invocation so that a real GPU still gets many
// workgroups.
import { ShapeError, type GpuContext } from '../context';

/** Maximum elements per invocation; also keeps the loop short for the OpenGL ES fallback. */
export const MAX_ELEMENTS_PER_INVOCATION = 32;
/** Workgroups to keep before giving each invocation more than one element. */
const MIN_WORKGROUPS = 256;

export interface ElementGrid {
  /** Consecutive elements each invocation handles. */
  perInvocation: number;
  groupsX: number;
  groupsY: number;
}

/** Returns the elements per invocation and the 2-D workgroup grid for `count` elements. */
export function elementGrid(ctx: GpuContext, count: number, workgroupSize: number): ElementGrid {
  if (count > 2 ** 32 - MAX_ELEMENTS_PER_INVOCATION * workgroupSize) {
    throw new ShapeError(`${count} elements overflow 32-bit indexing; process fewer per call.`);
  }
  const perInvocation = Math.max(1, Math.min(MAX_ELEMENTS_PER_INVOCATION, Math.floor(count / (workgroupSize * MIN_WORKGROUPS))));
  const [groupsX, groupsY] = ctx.grid(Math.ceil(count / perInvocation), workgroupSize);
  return { perInvocation, groupsX, groupsY };
}
