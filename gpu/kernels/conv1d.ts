// Causal depthwise conv1d (width K <= 8, with bias) fused with SiLU, over time-major
// (L, B, DI) rows read through a strided view (x_in is a column slice of xz).
import { Params, ShapeError, type GpuContext, type KernelSpec, type Tensor } from '../context';
import { elementGrid } from './element_grid';
import { checkDim, checkLength, checkNoAlias, checkView, type MatrixView } from './matrix_view';
import source from './conv1d.wgsl';
import { wgslConstant } from './wgsl_constants';

export const conv1dKernel: KernelSpec = { label: 'conv1d', source };
export const conv1dWithPreKernel: KernelSpec = { label: 'conv1d', source, entryPoint: 'main_with_pre' };

const WORKGROUP_SIZE = wgslConstant(source, 'WORKGROUP_SIZE');

/** Maximum conv width K, because the kernels keep a window of K inputs or sums in registers. */
export const MAX_CONV_WIDTH = wgslConstant(source, 'MAX_WIDTH');

export type ConvActivation = 'silu' | 'none';

export interface ConvDims {
  /** Batch (B), time steps (L), channels (DI) and conv width (K). */
  B: number;
  L: number;
  DI: number;
  K: number;
}

/** Checks dims, weight (DI, K), bias (DI) and the optional state (B, DI, K). */
export function checkConvParameters(label: string, dims: ConvDims, weight: Tensor, bias: Tensor | null, state: Tensor | null): void {
  checkDim(label, 'B', dims.B, 1);
  checkDim(label, 'L', dims.L, 0);
  checkDim(label, 'DI', dims.DI, 1);
  checkDim(label, 'K', dims.K, 1, MAX_CONV_WIDTH);
  checkLength(label, 'weight', weight, dims.DI * dims.K);
  if (bias) checkLength(label, 'bias', bias, dims.DI);
  if (state) checkLength(label, 'state', state, dims.B * dims.DI * dims.K);
}

/**
 * Returns the time steps per invocation and the dispatch grid for the kernels that give each
 * invocation a run of time steps of one (b, d). Throws ShapeError when they exceed one dispatch.
 */
export function convGrid(label: string, ctx: GpuContext, dims: ConvDims): { stepsPerInvocation: number; groupsX: number; groupsY: number } {
  const elements = dims.L * dims.B * dims.DI;
  if (elements > 2 ** 31) throw new ShapeError(`${label}: ${dims.L} x ${dims.B} x ${dims.DI} elements overflow 32-bit indexing; process fewer steps per call.`);
  const stepsPerInvocation = elementGrid(ctx, elements, WORKGROUP_SIZE).perInvocation;
  const [groupsX, groupsY] = ctx.grid(Math.ceil(dims.L / stepsPerInvocation) * dims.B * dims.DI, WORKGROUP_SIZE);
  return { stepsPerInvocation, groupsX, groupsY };
}

export interface Conv1dArgs extends ConvDims {
  /** Input (L * B, DI) view, for example { tensor: xz, rowStride: 2 * DI, colOffset: 0 }. */
  x: MatrixView;
  weight: Tensor;
  bias: Tensor;
  /** Conv state before t = 0 (B, DI, K); zero padding when absent. */
  state?: Tensor | null;
  /** Output (L * B, DI) view: silu(conv(x) + bias), or the pre-activation with activation 'none'. */
  out: MatrixView;
  /** Also store the pre-activation here, for the backward pass. */
  pre?: MatrixView;
  /** Defaults to 'silu'. */
  activation?: ConvActivation;
}

/** Records out = act(conv(x) + bias), and pre when given; each invocation covers a run of time steps of one channel. */
export function encodeConv1d(ctx: GpuContext, args: Conv1dArgs): void {
  const label = conv1dKernel.label;
  const state = args.state ?? null;
  checkConvParameters(label, args, args.weight, args.bias, state);
  const rows = args.L * args.B;
  if (rows === 0) return;
  checkView(label, 'x', args.x, rows, args.DI);
  checkView(label, 'out', args.out, rows, args.DI, true);
  const inputs = { x: args.x.tensor, weight: args.weight, bias: args.bias, state };
  checkNoAlias(label, args.out.tensor, 'out', inputs);
  if (args.pre) {
    checkView(label, 'pre', args.pre, rows, args.DI, true);
    checkNoAlias(label, args.pre.tensor, 'pre', { ...inputs, out: args.out.tensor });
  }

  const { stepsPerInvocation, groupsX, groupsY } = convGrid(label, ctx, args);
  const params = new Params()
    .u32(args.B)
    .u32(args.L)
    .u32(args.DI)
    .u32(args.K)
    .u32(args.x.colOffset)
    .u32(args.x.rowStride)
    .u32(args.out.colOffset)
    .u32(args.out.rowStride)
    .u32(args.pre?.colOffset ?? 0)
    .u32(args.pre?.rowStride ?? 0)
    .u32(state ? 1 : 0)
    .u32(stepsPerInvocation)
    .u32(groupsX);
  // Without a state the weight fills its binding. The shader never reads it then, and
  // read-only bindings may share a buffer.
  const bindings = [args.x.tensor, args.weight, args.bias, state ?? args.weight, args.out.tensor];
  if (args.pre) bindings.push(args.pre.tensor);
  ctx.dispatch(args.pre ? conv1dWithPreKernel : conv1dKernel, {
    params,
    bindings,
    workgroups: [groupsX, groupsY],
    constants: { SILU: (args.activation ?? 'silu') === 'silu' ? 1 : 0 },
  });
}
