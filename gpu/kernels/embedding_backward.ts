// Embedding gradient without float atomics. Each block of rows has its own (V, D) slab of
// partial sums, and one invocation accumulates each column d of that slab. Then
// reduce_partials adds the slabs in order, so the result does not depend on scheduling.
import { Params, ShapeError, type GpuContext, type KernelSpec, type Tensor } from '../context';
import source from './embedding_backward.wgsl';
import { checkDim, checkLength, checkNoAlias, wholeMatrix } from './matrix_view';
import { encodeReducePartials, MAX_ROWS_PER_PART, planRowSplit } from './reduce_partials';
import { wgslConstant } from './wgsl_constants';
import { PARTIALS_SLOT, type Workspace } from './workspace';

export const embeddingBackwardKernel: KernelSpec = { label: 'embedding_backward', source };

const WORKGROUP_SIZE = wgslConstant(source, 'WORKGROUP_SIZE');

/** Maximum V, which one invocation clears in one loop, under the OpenGL ES fallback's loop limit. */
export const MAX_VOCABULARY = 16384;

export interface EmbeddingBackwardArgs {
  rows: number;
  dim: number;
  vocabulary: number;
  /** Class index per row (rows), u32 data; rows with codes >= V add nothing. */
  codes: Tensor;
  /** Gradient of the loss with respect to the looked-up rows (rows, dim), contiguous. */
  dOut: Tensor;
  /** Table gradient (V, dim). */
  dTable: Tensor;
  /** dTable += gradient instead of overwriting it. */
  accumulate?: boolean;
  workspace: Workspace;
}

/** Records dTable (+)= scatter-add of dOut rows by code. */
export function encodeEmbeddingBackward(ctx: GpuContext, args: EmbeddingBackwardArgs): void {
  const label = embeddingBackwardKernel.label;
  const { rows, dim, vocabulary } = args;
  checkDim(label, 'rows', rows, 0);
  checkDim(label, 'dim', dim, 1);
  checkDim(label, 'vocabulary', vocabulary, 1, MAX_VOCABULARY);
  checkLength(label, 'codes', args.codes, rows);
  checkLength(label, 'dOut', args.dOut, rows * dim);
  checkLength(label, 'dTable', args.dTable, vocabulary * dim);
  checkNoAlias(label, args.dTable, 'dTable', { codes: args.codes, dOut: args.dOut });

  const slab = vocabulary * dim;
  const bindingElements = Math.floor(ctx.limits.maxStorageBufferBindingSize / 4);
  let split = planRowSplit(Math.max(rows, 1), Math.ceil(dim / WORKGROUP_SIZE));
  // Fewer, longer parts when the slabs would not fit one binding.
  const fitting = Math.floor(bindingElements / slab);
  if (fitting < 1 || Math.ceil(rows / fitting) > MAX_ROWS_PER_PART) {
    throw new ShapeError(`${label}: a ${vocabulary} x ${dim} table gradient over ${rows} rows needs more scratch than one storage binding can contain; process fewer rows per call.`);
  }
  if (split.parts > fitting) split = { parts: fitting, rowsPerPart: Math.ceil(rows / fitting) };

  const partials = args.workspace.scratch(split.parts * slab, PARTIALS_SLOT);
  const params = new Params().u32(rows).u32(dim).u32(vocabulary).u32(split.rowsPerPart);
  ctx.dispatch(embeddingBackwardKernel, {
    params,
    bindings: [args.codes, args.dOut, partials],
    workgroups: [Math.ceil(dim / WORKGROUP_SIZE), split.parts],
  });
  encodeReducePartials(ctx, {
    rows: vocabulary,
    cols: dim,
    parts: split.parts,
    partials,
    out: wholeMatrix(args.dTable, dim),
    accumulate: args.accumulate,
  });
}
