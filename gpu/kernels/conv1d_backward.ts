// Backward of the causal conv1d + SiLU: the gradient of the pre-activation g = dOut *
// silu'(pre), then the input gradient (a run of time steps per invocation) and the weight
// and bias gradients (partial sums over blocks of time steps, then reduce_partials). The gradient with
// respect to an initial conv state is not computed: training starts from zero state.
import { Params, ShapeError, type GpuContext, type KernelSpec, type Tensor } from '../context';
import { checkConvParameters, convGrid, encodeConv1d, type ConvActivation, type ConvDims } from './conv1d';
import source from './conv1d_backward.wgsl';
import { CONV_PARAM_GRAD_WORKGROUP, encodeConv1dParamGradPartials } from './conv1d_param_grad';
import { encodeElementwise } from './elementwise';
import { checkNoAlias, checkView, wholeMatrix, type MatrixView } from './matrix_view';
import { encodeReducePartials, MAX_ROWS_PER_PART, planRowSplit } from './reduce_partials';
import { INTERMEDIATE_SLOT, PARTIALS_SLOT, SECOND_INTERMEDIATE_SLOT, type Workspace } from './workspace';

export const conv1dBackwardKernel: KernelSpec = { label: 'conv1d_backward', source };

export interface Conv1dBackwardArgs extends ConvDims {
  /** The forward's input view (L * B, DI), weight (DI, K), bias (DI) and initial state. */
  x: MatrixView;
  weight: Tensor;
  bias: Tensor;
  state?: Tensor | null;
  /** The forward's activation; defaults to 'silu'. */
  activation?: ConvActivation;
  /** Pre-activation saved by the forward pass; recomputed into the workspace when absent. */
  pre?: MatrixView;
  /** Gradient of the loss with respect to the forward's output (L * B, DI). */
  dOut: MatrixView;
  /** Input gradient (L * B, DI) view, for example the x half of d(xz). */
  dx: MatrixView;
  accumulate?: boolean;
  /** Weight (DI, K) and bias (DI) gradients; each is skipped when absent. */
  dWeight?: Tensor;
  dBias?: Tensor;
  /** Add into dWeight and dBias instead of overwriting them. */
  accumulateParams?: boolean;
  workspace: Workspace;
}

/** Records dx (+)= conv1d'(dOut), and dWeight and dBias when given. */
export function encodeConv1dBackward(ctx: GpuContext, args: Conv1dBackwardArgs): void {
  const label = conv1dBackwardKernel.label;
  const { B, L, DI, K, workspace } = args;
  const state = args.state ?? null;
  checkConvParameters(label, args, args.weight, args.bias, state);
  const rows = L * B;
  if (rows === 0) return;
  checkView(label, 'x', args.x, rows, DI);
  checkView(label, 'dOut', args.dOut, rows, DI);
  checkView(label, 'dx', args.dx, rows, DI, true);
  if (args.pre) checkView(label, 'pre', args.pre, rows, DI);
  checkNoAlias(label, args.dx.tensor, 'dx', { x: args.x.tensor, weight: args.weight, dOut: args.dOut.tensor, pre: args.pre?.tensor, state });
  const { stepsPerInvocation, groupsX, groupsY } = convGrid(label, ctx, args);

  // g = dOut * silu'(pre): the pre-activation gradient, contiguous in the workspace.
  const g = workspace.scratch(rows * DI, INTERMEDIATE_SLOT);
  if ((args.activation ?? 'silu') === 'silu') {
    let pre = args.pre;
    if (!pre) {
      const recomputed = workspace.scratch(rows * DI, SECOND_INTERMEDIATE_SLOT);
      encodeConv1d(ctx, { ...args, state, out: wholeMatrix(recomputed, DI), activation: 'none' });
      pre = wholeMatrix(recomputed, DI);
    }
    encodeElementwise(ctx, { op: 'siluBackward', rows, cols: DI, x: pre, y: args.dOut, out: wholeMatrix(g, DI) });
  } else {
    encodeElementwise(ctx, { op: 'scale', rows, cols: DI, x: args.dOut, out: wholeMatrix(g, DI) });
  }

  const params = new Params()
    .u32(B)
    .u32(L)
    .u32(DI)
    .u32(K)
    .u32(args.dx.colOffset)
    .u32(args.dx.rowStride)
    .u32(args.accumulate ? 1 : 0)
    .u32(stepsPerInvocation)
    .u32(groupsX);
  ctx.dispatch(conv1dBackwardKernel, { params, bindings: [g, args.weight, args.dx.tensor], workgroups: [groupsX, groupsY] });

  if (!args.dWeight && !args.dBias) return;
  if (B > MAX_ROWS_PER_PART) {
    throw new ShapeError(`${label}: batch ${B} exceeds ${MAX_ROWS_PER_PART}, the maximum number of rows that one parameter-gradient invocation walks per time step; use a smaller batch.`);
  }
  // Parts are blocks of whole time steps, so that each sequence's inputs slide through a
  // register window.
  const rowSplit = planRowSplit(rows, Math.ceil(DI / CONV_PARAM_GRAD_WORKGROUP));
  const stepsPerPart = Math.max(1, Math.floor(rowSplit.rowsPerPart / B));
  const split = { parts: Math.ceil(L / stepsPerPart), stepsPerPart };
  const blockSize = DI * K + DI;
  const partials = workspace.scratch(split.parts * blockSize, PARTIALS_SLOT);
  encodeConv1dParamGradPartials(ctx, { B, L, DI, K, ...split, g, x: args.x, state, partials });
  if (args.dWeight) {
    checkView(label, 'dWeight', wholeMatrix(args.dWeight, DI * K), 1, DI * K, true);
    encodeReducePartials(ctx, {
      rows: 1,
      cols: DI * K,
      parts: split.parts,
      partials,
      partStride: blockSize,
      out: wholeMatrix(args.dWeight, DI * K),
      accumulate: args.accumulateParams,
    });
  }
  if (args.dBias) {
    checkView(label, 'dBias', wholeMatrix(args.dBias, DI), 1, DI, true);
    encodeReducePartials(ctx, {
      rows: 1,
      cols: DI,
      parts: split.parts,
      partials,
      partOffset: DI * K,
      partStride: blockSize,
      out: wholeMatrix(args.dBias, DI),
      accumulate: args.accumulateParams,
    });
  }
}
