// Cross-entropy over V classes (a model setting; 256 mu-law classes for audio) with the
// logits' gradient in the same pass, the per-row loss, and the mean loss on the GPU.
import { byteLengthOf, Params, ShapeError, type GpuContext, type KernelSpec, type Tensor } from '../context';
import source from './cross_entropy.wgsl';
import { checkDim, checkLength, checkNoAlias, wholeMatrix } from './matrix_view';
import { encodeSum } from './sum_partials';
import { wgslConstant } from './wgsl_constants';
import type { Workspace } from './workspace';

export const crossEntropyKernel: KernelSpec = { label: 'cross_entropy', source };

const WORKGROUP_SIZE = wgslConstant(source, 'WORKGROUP_SIZE');

/** Maximum number of classes; one invocation walks its row three times. */
export const MAX_CLASSES = 16384;

export interface CrossEntropyArgs {
  rows: number;
  /** Number of classes V. */
  classes: number;
  /** Logits (rows, V), contiguous. Left unchanged unless dLogits is the same tensor. */
  logits: Tensor;
  /** Target class per row (rows), u32 data. Targets >= V give zero loss and gradient. */
  targets: Tensor;
  /** Per-row weights (rows), for example 0 for padding; all 1 when absent. */
  weights?: Tensor | null;
  /**
   * Sum of the weights, the mean's denominator. Required with weights, because the caller
   * builds the mask and has the sum at hand. Defaults to rows.
   */
  weightSum?: number;
  /** Loss per row (rows), unweighted, in nats. */
  rowLoss: Tensor;
  /** sum(w * loss) / weightSum, one element; skipped when absent. */
  meanLoss?: Tensor;
  /**
   * Gradient of the mean loss with respect to the logits (rows, V); skipped when absent.
   * Passing the logits tensor itself overwrites the logits in place.
   */
  dLogits?: Tensor;
  /** Required with meanLoss. */
  workspace?: Workspace;
}

/** Records the loss, the mean loss and the logits' gradient; one invocation per row. */
export function encodeCrossEntropy(ctx: GpuContext, args: CrossEntropyArgs): void {
  const label = crossEntropyKernel.label;
  const { rows, classes } = args;
  checkDim(label, 'rows', rows, 0);
  checkDim(label, 'classes', classes, 1, MAX_CLASSES);
  checkLength(label, 'logits', args.logits, rows * classes);
  checkLength(label, 'targets', args.targets, rows);
  checkLength(label, 'rowLoss', args.rowLoss, rows);
  if (args.weights) checkLength(label, 'weights', args.weights, rows);
  if (args.weights && args.weightSum === undefined) {
    throw new Error(`${label}: weights require weightSum, the denominator of the mean loss`);
  }
  const normalizer = args.weightSum ?? rows;
  if (!(normalizer > 0) && rows > 0) {
    throw new ShapeError(`${label}: weightSum is ${normalizer}; the mean needs a positive denominator (are all rows masked?).`);
  }

  // The kernel writes the gradient over its logits binding, so a separate dLogits gets a
  // copy of the logits first.
  let work = args.logits;
  if (args.dLogits && args.dLogits.buffer !== args.logits.buffer) {
    if (byteLengthOf(args.dLogits) !== byteLengthOf(args.logits)) {
      throw new ShapeError(`${label}: dLogits [${args.dLogits.shape}] must have the shape of logits [${args.logits.shape}]`);
    }
    ctx.copy(args.logits, args.dLogits);
    work = args.dLogits;
  } else if (args.dLogits && args.dLogits !== args.logits) {
    throw new ShapeError(`${label}: dLogits "${args.dLogits.label}" shares a buffer with the logits but is a different view; pass the logits tensor itself to work in place.`);
  }
  checkNoAlias(label, work, 'logits', { targets: args.targets, weights: args.weights, rowLoss: args.rowLoss });
  checkNoAlias(label, args.rowLoss, 'rowLoss', { targets: args.targets, weights: args.weights });
  if (rows === 0) return;

  const [groupsX, groupsY] = ctx.grid(rows, WORKGROUP_SIZE);
  const params = new Params()
    .u32(rows)
    .u32(classes)
    .u32(classes)
    .f32(1 / normalizer)
    .u32(args.weights ? 1 : 0)
    .u32(args.dLogits ? 1 : 0)
    .u32(groupsX);
  ctx.dispatch(crossEntropyKernel, {
    params,
    // Without weights the targets fill their binding. The shader never reads it then, and
    // read-only bindings may share a buffer.
    bindings: [work, args.targets, args.weights ?? args.targets, args.rowLoss],
    workgroups: [groupsX, groupsY],
  });

  if (!args.meanLoss) return;
  if (!args.workspace) throw new Error(`${label}: meanLoss requires a Workspace for its partial sums`);
  checkLength(label, 'meanLoss', args.meanLoss, 1);
  encodeSum(ctx, {
    count: rows,
    x: args.rowLoss,
    weights: args.weights,
    scale: 1 / normalizer,
    out: wholeMatrix(args.meanLoss, 1),
    workspace: args.workspace,
  });
}
