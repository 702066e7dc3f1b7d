// Second pass of the two-pass reductions: adds `parts` partial blocks into a strided output.
import { Params, ShapeError, type GpuContext, type KernelSpec, type Tensor } from '../context';
import { checkDim, checkLength, checkNoAlias, checkView, type MatrixView } from './matrix_view';
import source from './reduce_partials.wgsl';
import { wgslConstant } from './wgsl_constants';

export const reducePartialsKernel: KernelSpec = { label: 'reduce_partials', source };

const WORKGROUP_SIZE = wgslConstant(source, 'WORKGROUP_SIZE');

/**
 * Maximum number of parts that one reduction adds. Keeps each invocation's loop far below the 65,535
 * iterations after which the OpenGL ES fallback (Mesa 22.3) silently stops loops.
 */
export const MAX_PARTS = 16384;

/** Maximum rows that one invocation of a row-block partial-sum kernel walks (the same loop bound). */
export const MAX_ROWS_PER_PART = 16384;
/** Minimum rows worth a part of their own. */
const MIN_ROWS_PER_PART = 64;
/** Workgroups a partial-sum pass aims for: enough for a CPU adapter's threads and a small GPU. */
const TARGET_WORKGROUPS = 64;

export interface RowSplit {
  parts: number;
  rowsPerPart: number;
}

/**
 * Cuts `rows` into parts for a partial-sum pass that runs `groupsPerPart` workgroups per
 * part, aiming for TARGET_WORKGROUPS in all while keeping each part under MAX_ROWS_PER_PART.
 */
export function planRowSplit(rows: number, groupsPerPart: number): RowSplit {
  const requested = Math.ceil(TARGET_WORKGROUPS / Math.max(1, groupsPerPart));
  let parts = Math.min(requested, Math.max(1, Math.floor(rows / MIN_ROWS_PER_PART)));
  parts = Math.max(parts, Math.ceil(rows / MAX_ROWS_PER_PART), 1);
  const rowsPerPart = Math.max(1, Math.ceil(rows / parts));
  return { parts: Math.max(1, Math.ceil(rows / rowsPerPart)), rowsPerPart };
}

export interface ReducePartialsArgs {
  rows: number;
  cols: number;
  parts: number;
  /** Part p, element (i, j) at partOffset + p * partStride + i * cols + j. */
  partials: Tensor;
  partOffset?: number;
  /** Defaults to rows * cols (parts stored back to back). */
  partStride?: number;
  out: MatrixView;
  /** Add into out instead of overwriting it. */
  accumulate?: boolean;
}

/** Records out (+)= sum over p of partials[p]; one invocation per output element. */
export function encodeReducePartials(ctx: GpuContext, args: ReducePartialsArgs): void {
  const label = reducePartialsKernel.label;
  const { rows, cols, parts, partials, out } = args;
  const partOffset = args.partOffset ?? 0;
  const count = rows * cols;
  const partStride = args.partStride ?? count;
  checkDim(label, 'rows', rows, 0);
  checkDim(label, 'cols', cols, 0);
  checkDim(label, 'parts', parts, 1, MAX_PARTS);
  checkDim(label, 'partStride', partStride, count);
  if (count === 0) return;
  checkLength(label, 'partials', partials, partOffset + (parts - 1) * partStride + count);
  checkView(label, 'out', out, rows, cols, true);
  checkNoAlias(label, out.tensor, 'out', { partials });
  if (partOffset + parts * partStride + count > 2 ** 32 - 1) {
    throw new ShapeError(`${label}: ${parts} parts of ${count} elements overflow 32-bit indexing; reduce fewer parts at a time.`);
  }

  const [groupsX, groupsY] = ctx.grid(count, WORKGROUP_SIZE);
  const params = new Params()
    .u32(rows)
    .u32(cols)
    .u32(parts)
    .u32(partOffset)
    .u32(partStride)
    .u32(out.colOffset)
    .u32(out.rowStride)
    .u32(args.accumulate ? 1 : 0)
    .u32(groupsX);
  ctx.dispatch(reducePartialsKernel, { params, bindings: [partials, out.tensor], workgroups: [groupsX, groupsY] });
}
