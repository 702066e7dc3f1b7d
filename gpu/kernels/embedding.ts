// Embedding lookup: codes (one u32 class per token row) to rows of the (V, D) table.
import { Params, type GpuContext, type KernelSpec, type Tensor } from '../context';
import { elementGrid } from './element_grid';
import { checkDim, checkLength, checkNoAlias, checkView, type MatrixView } from './matrix_view';
import source from './embedding.wgsl';
import { wgslConstant } from './wgsl_constants';

export const embeddingKernel: KernelSpec = { label: 'embedding', source };

const WORKGROUP_SIZE = wgslConstant(source, 'WORKGROUP_SIZE');

export interface EmbeddingArgs {
  rows: number;
  /** Table width (D) and number of classes (V). */
  dim: number;
  vocabulary: number;
  /** Class index per row (rows), u32 data. Codes >= V produce zero rows. */
  codes: Tensor;
  /** Table (V, dim). */
  table: Tensor;
  /** Output (rows, dim) view. */
  out: MatrixView;
}

/** Records out[r] = table[codes[r]]; each invocation writes a run of output elements. */
export function encodeEmbedding(ctx: GpuContext, args: EmbeddingArgs): void {
  const label = embeddingKernel.label;
  const { rows, dim, vocabulary } = args;
  checkDim(label, 'rows', rows, 0);
  checkDim(label, 'dim', dim, 1);
  checkDim(label, 'vocabulary', vocabulary, 1);
  if (rows === 0) return;
  checkLength(label, 'codes', args.codes, rows);
  checkLength(label, 'table', args.table, vocabulary * dim);
  checkView(label, 'out', args.out, rows, dim, true);
  checkNoAlias(label, args.out.tensor, 'out', { codes: args.codes, table: args.table });

  const { perInvocation, groupsX, groupsY } = elementGrid(ctx, rows * dim, WORKGROUP_SIZE);
  const params = new Params().u32(rows).u32(dim).u32(vocabulary).u32(args.out.colOffset).u32(args.out.rowStride).u32(perInvocation).u32(groupsX);
  ctx.dispatch(embeddingKernel, { params, bindings: [args.codes, args.table, args.out.tensor], workgroups: [groupsX, groupsY] });
}
