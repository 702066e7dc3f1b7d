// Fused element-wise ops over strided (rows, cols) views: scale, residual add, product, SiLU
// and softplus with their backward passes. One pipeline per op (the OP override constant).
import { Params, type GpuContext, type KernelSpec } from '../context';
import { elementGrid } from './element_grid';
import { checkDim, checkNoAlias, checkView, type MatrixView } from './matrix_view';
import source from './elementwise.wgsl';
import { wgslConstant } from './wgsl_constants';

export const elementwiseKernel: KernelSpec = { label: 'elementwise', source };

const WORKGROUP_SIZE = wgslConstant(source, 'WORKGROUP_SIZE');

/** The element-wise functions f(x, y), with the OP value the shader switches on. */
export type ElementwiseOp = 'scale' | 'add' | 'mul' | 'silu' | 'siluBackward' | 'softplus' | 'softplusBackward';

const OP_CONSTANTS: Record<ElementwiseOp, string> = {
  scale: 'OP_SCALE',
  add: 'OP_ADD',
  mul: 'OP_MUL',
  silu: 'OP_SILU',
  siluBackward: 'OP_SILU_BACKWARD',
  softplus: 'OP_SOFTPLUS',
  softplusBackward: 'OP_SOFTPLUS_BACKWARD',
};

/** Ops that read y. */
const BINARY_OPS = new Set<ElementwiseOp>(['add', 'mul', 'siluBackward', 'softplusBackward']);

export interface ElementwiseArgs {
  /**
   * scale: alpha * x; add: x + alpha * y; mul: x * y; silu: x * sigmoid(x);
   * siluBackward: y * silu'(x) with x the pre-activation and y the upstream gradient;
   * softplus: log(1 + exp(x)), x above 20; softplusBackward: y * softplus'(x).
   */
  op: ElementwiseOp;
  rows: number;
  cols: number;
  x: MatrixView;
  /** Required by add, mul, siluBackward and softplusBackward. */
  y?: MatrixView;
  /** Must not share a buffer with x or y. */
  out: MatrixView;
  /** Defaults to 1. */
  alpha?: number;
  /** out += f(x, y) instead of out = f(x, y). */
  accumulate?: boolean;
}

/** Records out (+)= f(x, y) over a (rows, cols) block; each invocation covers a run of elements. */
export function encodeElementwise(ctx: GpuContext, args: ElementwiseArgs): void {
  const label = `${elementwiseKernel.label} ${args.op}`;
  const { rows, cols, x, out } = args;
  checkDim(label, 'rows', rows, 0);
  checkDim(label, 'cols', cols, 0);
  if (!(args.op in OP_CONSTANTS)) throw new Error(`${label}: invalid op; expected one of ${Object.keys(OP_CONSTANTS).join(', ')}`);
  const binary = BINARY_OPS.has(args.op);
  if (binary && !args.y) throw new Error(`${label}: op ${args.op} requires y`);
  // Unary ops bind x a second time in y's slot, because read-only bindings may share a buffer.
  const y = binary ? args.y! : x;
  if (rows === 0 || cols === 0) return;
  checkView(label, 'x', x, rows, cols);
  checkView(label, 'y', y, rows, cols);
  checkView(label, 'out', out, rows, cols, true);
  checkNoAlias(label, out.tensor, 'out', { x: x.tensor, y: y.tensor });

  const { perInvocation, groupsX, groupsY } = elementGrid(ctx, rows * cols, WORKGROUP_SIZE);
  const params = new Params()
    .u32(rows)
    .u32(cols)
    .u32(x.colOffset)
    .u32(x.rowStride)
    .u32(y.colOffset)
    .u32(y.rowStride)
    .u32(out.colOffset)
    .u32(out.rowStride)
    .f32(args.alpha ?? 1)
    .u32(args.accumulate ? 1 : 0)
    .u32(perInvocation)
    .u32(groupsX);
  ctx.dispatch(elementwiseKernel, {
    params,
    bindings: [x.tensor, y.tensor, out.tensor],
    workgroups: [groupsX, groupsY],
    constants: { OP: wgslConstant(source, OP_CONSTANTS[args.op]) },
  });
}

/** Records target += alpha * source over (rows, cols) views: the residual add. */
export function encodeAddInPlace(ctx: GpuContext, args: { target: MatrixView; source: MatrixView; rows: number; cols: number; alpha?: number }): void {
  encodeElementwise(ctx, { op: 'scale', rows: args.rows, cols: args.cols, x: args.source, out: args.target, alpha: args.alpha, accumulate: true });
}
