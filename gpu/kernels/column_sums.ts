// Column sums over rows, out[j] (+)= sum_r x[r, j], for bias gradients: partial sums over
// blocks of rows, then reduce_partials.
import { Params, type GpuContext, type KernelSpec } from '../context';
import source from './column_sums.wgsl';
import { checkDim, checkNoAlias, checkView, type MatrixView } from './matrix_view';
import { encodeReducePartials, planRowSplit } from './reduce_partials';
import { wgslConstant } from './wgsl_constants';
import { PARTIALS_SLOT, type Workspace } from './workspace';

export const columnSumsKernel: KernelSpec = { label: 'column_sums', source };

const WORKGROUP_SIZE = wgslConstant(source, 'WORKGROUP_SIZE');

export interface ColumnSumsArgs {
  rows: number;
  cols: number;
  /** Input (rows, cols) view. */
  x: MatrixView;
  /** Output (1, cols) view. */
  out: MatrixView;
  accumulate?: boolean;
  workspace: Workspace;
}

/** Records out (+)= the sum of x's rows. */
export function encodeColumnSums(ctx: GpuContext, args: ColumnSumsArgs): void {
  const label = columnSumsKernel.label;
  const { rows, cols } = args;
  checkDim(label, 'rows', rows, 0);
  checkDim(label, 'cols', cols, 0);
  if (cols === 0) return;
  if (rows > 0) checkView(label, 'x', args.x, rows, cols);
  checkView(label, 'out', args.out, 1, cols, true);
  const split = planRowSplit(Math.max(rows, 1), Math.ceil(cols / WORKGROUP_SIZE));
  const partials = args.workspace.scratch(split.parts * cols, PARTIALS_SLOT);
  checkNoAlias(label, partials, 'workspace', { x: args.x.tensor });
  checkNoAlias(label, args.out.tensor, 'out', { x: args.x.tensor, workspace: partials });

  const params = new Params().u32(rows).u32(cols).u32(args.x.colOffset).u32(args.x.rowStride).u32(split.rowsPerPart);
  ctx.dispatch(columnSumsKernel, { params, bindings: [args.x.tensor, partials], workgroups: [Math.ceil(cols / WORKGROUP_SIZE), split.parts] });
  encodeReducePartials(ctx, { rows: 1, cols, parts: split.parts, partials, out: args.out, accumulate: args.accumulate });
}
