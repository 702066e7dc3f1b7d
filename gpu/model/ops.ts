// The operations the model is built from, named for what the model does with them, over
// the kernels of gpu/kernels/. Keeping the model code on this small surface means a kernel
// can change its arguments without the model changing.
import type { GpuContext, Tensor } from '../context';
import { encodeAdamW, type AdamWArgs } from '../kernels/adamw';
import { encodeColumnSums } from '../kernels/column_sums';
import { encodeConv1d } from '../kernels/conv1d';
import { encodeConv1dBackward } from '../kernels/conv1d_backward';
import { encodeCrossEntropy } from '../kernels/cross_entropy';
import { encodeAddInPlace, encodeElementwise } from '../kernels/elementwise';
import { encodeEmbedding } from '../kernels/embedding';
import { encodeEmbeddingBackward } from '../kernels/embedding_backward';
import { encodeGradNorm } from '../kernels/grad_norm';
import { encodeLinearForward, encodeLinearInputGrad, encodeLinearWeightGrad } from '../kernels/matmul';
import { wholeMatrix, type MatrixView } from '../kernels/matrix_view';
import { encodeRmsNorm } from '../kernels/rmsnorm';
import { encodeRmsNormBackward } from '../kernels/rmsnorm_backward';
import { Workspace } from '../kernels/workspace';

export type OpsWorkspace = Workspace;

export function createWorkspace(ctx: GpuContext): OpsWorkspace {
  return new Workspace(ctx, 'model workspace');
}

/** Views the whole tensor as a matrix of `cols` columns. */
export function whole(tensor: Tensor, cols: number): MatrixView {
  return wholeMatrix(tensor, cols);
}

interface Linear {
  rows: number;
  inDim: number;
  outDim: number;
  workspace: OpsWorkspace;
}

/** y = x @ W^T. */
export function linearForward(ctx: GpuContext, args: Linear & { x: MatrixView; weight: Tensor; y: MatrixView; accumulate?: boolean }): void {
  encodeLinearForward(ctx, args);
}

/** dx (+)= dy @ W. */
export function linearInputGrad(ctx: GpuContext, args: Linear & { dy: MatrixView; weight: Tensor; dx: MatrixView; accumulate?: boolean }): void {
  encodeLinearInputGrad(ctx, args);
}

/** dW = dy^T @ x, summed over rows. */
export function linearWeightGrad(ctx: GpuContext, args: Linear & { dy: MatrixView; x: MatrixView; dWeight: Tensor }): void {
  encodeLinearWeightGrad(ctx, { ...args, accumulate: false });
}

/** out = x / sqrt(mean(x^2) + eps) * weight per row, keeping 1 / rms in rstd. */
export function rmsNormForward(ctx: GpuContext, args: { x: Tensor; weight: Tensor; out: Tensor; rstd: Tensor; rows: number; D: number; eps: number }): void {
  encodeRmsNorm(ctx, { rows: args.rows, dim: args.D, x: args.x, weight: args.weight, y: args.out, rstd: args.rstd, eps: args.eps });
}

/** dx (+)= RMSNorm'(x) dOut, and dWeight = its gradient summed over rows. */
export function rmsNormBackward(
  ctx: GpuContext,
  args: { x: Tensor; weight: Tensor; rstd: Tensor; dOut: Tensor; dx: Tensor; accumulate: boolean; dWeight: Tensor; rows: number; D: number; workspace: OpsWorkspace },
): void {
  encodeRmsNormBackward(ctx, {
    rows: args.rows,
    dim: args.D,
    x: args.x,
    weight: args.weight,
    rstd: args.rstd,
    dy: args.dOut,
    dx: args.dx,
    accumulate: args.accumulate,
    dWeight: args.dWeight,
    accumulateWeight: false,
    workspace: args.workspace,
  });
}

/** Tensors of the output head: the final RMSNorm of x, then the linear layer to V logits. */
export interface HeadTensors {
  /** Output of the last block, (rows, D). */
  x: Tensor;
  normWeight: Tensor;
  headWeight: Tensor;
  /** Saved for the backward: RMSNorm(x), (rows, D), and its 1 / rms per row. */
  normed: Tensor;
  rstd: Tensor;
  logits: Tensor;
  rows: number;
  D: number;
  V: number;
  workspace: OpsWorkspace;
}

/** Encodes logits = RMSNorm(x) @ head, keeping what headBackward needs. */
export function headForward(ctx: GpuContext, args: HeadTensors & { eps: number }): void {
  const { rows, D, V, workspace } = args;
  rmsNormForward(ctx, { x: args.x, weight: args.normWeight, out: args.normed, rstd: args.rstd, rows, D, eps: args.eps });
  linearForward(ctx, { x: whole(args.normed, D), weight: args.headWeight, y: whole(args.logits, V), rows, inDim: D, outDim: V, workspace });
}

/**
 * Encodes the head's backward from dLogits: the head and final-norm weight gradients, and
 * dx (overwritten) for the last block. dNormed is scratch of (rows, D).
 */
export function headBackward(
  ctx: GpuContext,
  args: Omit<HeadTensors, 'logits'> & { dLogits: Tensor; dNormed: Tensor; dx: Tensor; dNormWeight: Tensor; dHeadWeight: Tensor },
): void {
  const { rows, D, V, workspace } = args;
  linearWeightGrad(ctx, { dy: whole(args.dLogits, V), x: whole(args.normed, D), dWeight: args.dHeadWeight, rows, inDim: D, outDim: V, workspace });
  linearInputGrad(ctx, { dy: whole(args.dLogits, V), weight: args.headWeight, dx: whole(args.dNormed, D), rows, inDim: D, outDim: V, workspace });
  rmsNormBackward(ctx, { x: args.x, weight: args.normWeight, rstd: args.rstd, dOut: args.dNormed, dx: args.dx, accumulate: false, dWeight: args.dNormWeight, rows, D, workspace });
}

/** target += source, element-wise over `count` elements. */
export function addInPlace(ctx: GpuContext, args: { target: Tensor; source: Tensor; count: number }): void {
  encodeAddInPlace(ctx, { target: wholeMatrix(args.target, args.count), source: wholeMatrix(args.source, args.count), rows: 1, cols: args.count });
}

/** out (rows, width) += `row` (width) on every row: a linear layer's bias. */
export function addRowVector(ctx: GpuContext, args: { row: Tensor; out: Tensor; rows: number; width: number }): void {
  encodeAddInPlace(ctx, { target: wholeMatrix(args.out, args.width), source: { tensor: args.row, rowStride: 0, colOffset: 0 }, rows: args.rows, cols: args.width });
}

/** Copies `row` (width) into every row of `out` (rows, width): the non-selective x_proj output. */
export function broadcastRows(ctx: GpuContext, args: { row: Tensor; out: Tensor; rows: number; width: number }): void {
  encodeElementwise(ctx, {
    op: 'scale',
    alpha: 1,
    rows: args.rows,
    cols: args.width,
    x: { tensor: args.row, rowStride: 0, colOffset: 0 },
    out: wholeMatrix(args.out, args.width),
  });
}

/** out (width) = sum over rows of x (rows, width). */
export function columnSums(ctx: GpuContext, args: { x: Tensor; out: Tensor; rows: number; width: number; workspace: OpsWorkspace }): void {
  encodeColumnSums(ctx, {
    rows: args.rows,
    cols: args.width,
    x: wholeMatrix(args.x, args.width),
    out: wholeMatrix(args.out, args.width),
    workspace: args.workspace,
  });
}

/** out (rows, D) = table[codes]. */
export function embeddingForward(ctx: GpuContext, args: { codes: Tensor; table: Tensor; out: Tensor; rows: number; D: number; V: number }): void {
  encodeEmbedding(ctx, { rows: args.rows, dim: args.D, vocabulary: args.V, codes: args.codes, table: args.table, out: wholeMatrix(args.out, args.D) });
}

/** dTable = scatter-add of dOut rows by code (overwritten). */
export function embeddingBackward(ctx: GpuContext, args: { codes: Tensor; dOut: Tensor; dTable: Tensor; rows: number; D: number; V: number; workspace: OpsWorkspace }): void {
  encodeEmbeddingBackward(ctx, { rows: args.rows, dim: args.D, vocabulary: args.V, codes: args.codes, dOut: args.dOut, dTable: args.dTable, workspace: args.workspace });
}

interface ConvShape {
  B: number;
  L: number;
  DI: number;
  K: number;
}

/** out = silu(conv1d(x) + bias), keeping the pre-activation for the backward. */
export function convForward(ctx: GpuContext, args: ConvShape & { x: MatrixView; weight: Tensor; bias: Tensor; pre: Tensor; out: Tensor; state?: Tensor | null }): void {
  encodeConv1d(ctx, {
    B: args.B,
    L: args.L,
    DI: args.DI,
    K: args.K,
    x: args.x,
    weight: args.weight,
    bias: args.bias,
    state: args.state ?? null,
    out: wholeMatrix(args.out, args.DI),
    pre: wholeMatrix(args.pre, args.DI),
  });
}

/** dx (the conv input's gradient view), dWeight and dBias (overwritten). */
export function convBackward(
  ctx: GpuContext,
  args: ConvShape & { x: MatrixView; weight: Tensor; bias: Tensor; pre: Tensor; dOut: Tensor; dx: MatrixView; dWeight: Tensor; dBias: Tensor; workspace: OpsWorkspace },
): void {
  encodeConv1dBackward(ctx, {
    B: args.B,
    L: args.L,
    DI: args.DI,
    K: args.K,
    x: args.x,
    weight: args.weight,
    bias: args.bias,
    pre: wholeMatrix(args.pre, args.DI),
    dOut: wholeMatrix(args.dOut, args.DI),
    dx: args.dx,
    dWeight: args.dWeight,
    dBias: args.dBias,
    workspace: args.workspace,
  });
}

/** Per-row and (weighted) mean cross-entropy in nats, and dLogits of the mean. */
export function crossEntropy(
  ctx: GpuContext,
  args: {
    logits: Tensor;
    targets: Tensor;
    weights?: Tensor | null;
    weightSum?: number;
    rowLoss: Tensor;
    meanLoss: Tensor;
    dLogits: Tensor;
    rows: number;
    V: number;
    workspace: OpsWorkspace;
  },
): void {
  encodeCrossEntropy(ctx, {
    rows: args.rows,
    classes: args.V,
    logits: args.logits,
    targets: args.targets,
    weights: args.weights ?? null,
    weightSum: args.weightSum,
    rowLoss: args.rowLoss,
    meanLoss: args.meanLoss,
    dLogits: args.dLogits,
    workspace: args.workspace,
  });
}

/** result = [global norm, clip scale min(1, maxNorm / norm), non-finite flag]. */
export function gradientNorm(ctx: GpuContext, args: { grads: Tensor[]; maxNorm: number; result: Tensor; workspace: OpsWorkspace }): void {
  encodeGradNorm(ctx, args);
}

/** Encodes one AdamW update of a parameter, its gradient scaled by the clip factor from gradientNorm. */
export function adamw(ctx: GpuContext, args: AdamWArgs): void {
  encodeAdamW(ctx, args);
}
