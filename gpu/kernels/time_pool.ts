// Time re-layout for SaShiMi's pooling layers: a time-major sequence (L, B, C) to its pooled
// form (L / p, B, p * C) and back, optionally delayed by one pooled step (the causal
// UpPool). The two directions with the same shift are each other's backward pass. CPU
// reference: reference/time_pool.ts.
import { Params, type GpuContext, type KernelSpec, type Tensor } from '../context';
import { elementGrid } from './element_grid';
import { checkDim, checkLength, checkNoAlias } from './matrix_view';
import source from './time_pool.wgsl';
import { wgslConstant } from './wgsl_constants';

export const timePoolKernel: KernelSpec = { label: 'time_pool', source };

const WORKGROUP_SIZE = wgslConstant(source, 'WORKGROUP_SIZE');

export interface TimePoolArgs {
  /** 'pool' maps (L, B, C) to (L / p, B, p * C), and 'unpool' the reverse. */
  direction: 'pool' | 'unpool';
  B: number;
  /** Time steps of the unpooled sequence, a multiple of factor. */
  L: number;
  /** Steps p per pooled row. */
  factor: number;
  /** Channels of the unpooled sequence. */
  C: number;
  /** 1 delays unpool's output (and advances pool's) by one pooled step. Default 0. */
  shift?: number;
  input: Tensor;
  /** Must not share a buffer with the input. */
  output: Tensor;
  /** output += the re-laid input instead of output = it. */
  accumulate?: boolean;
}

/** Records the re-layout, each invocation writing a run of consecutive output elements. */
export function encodeTimePool(ctx: GpuContext, args: TimePoolArgs): void {
  const label = `${timePoolKernel.label} ${args.direction}`;
  const { B, L, factor, C } = args;
  const shift = args.shift ?? 0;
  checkDim(label, 'B', B);
  checkDim(label, 'L', L);
  checkDim(label, 'factor', factor);
  checkDim(label, 'C', C);
  checkDim(label, 'shift', shift, 0, 1);
  if (L % factor !== 0) throw new RangeError(`${label}: L = ${L} is not a multiple of the factor ${factor}`);
  if (args.direction !== 'pool' && args.direction !== 'unpool') throw new Error(`${label}: invalid direction; expected 'pool' or 'unpool'`);
  const count = L * B * C;
  checkLength(label, 'input', args.input, count);
  checkLength(label, 'output', args.output, count);
  checkNoAlias(label, args.output, 'output', { input: args.input });

  const { perInvocation, groupsX, groupsY } = elementGrid(ctx, count, WORKGROUP_SIZE);
  const params = new Params().u32(B).u32(L).u32(factor).u32(C).u32(shift).u32(args.accumulate ? 1 : 0).u32(perInvocation).u32(groupsX);
  ctx.dispatch(timePoolKernel, {
    params,
    bindings: [args.input, args.output],
    workgroups: [groupsX, groupsY],
    constants: { DIRECTION: wgslConstant(source, args.direction === 'pool' ? 'DIRECTION_POOL' : 'DIRECTION_UNPOOL') },
  });
}
