// One recurrent step of the causal conv1d for generation: advances the conv state
// (B, DI, K) by one input per sequence and outputs silu(conv) for that input.
import { Params, type GpuContext, type KernelSpec, type Tensor } from '../context';
import { checkConvParameters, type ConvActivation } from './conv1d';
import source from './conv1d_step.wgsl';
import { checkNoAlias, checkView, type MatrixView } from './matrix_view';
import { wgslConstant } from './wgsl_constants';

export const conv1dStepKernel: KernelSpec = { label: 'conv1d_step', source };

const WORKGROUP_SIZE = wgslConstant(source, 'WORKGROUP_SIZE');

export interface Conv1dStepArgs {
  B: number;
  DI: number;
  K: number;
  /** This step's inputs (B, DI) view, for example the x half of xz for one time step. */
  x: MatrixView;
  weight: Tensor;
  bias: Tensor;
  /** Conv state (B, DI, K), k = 0 the oldest input; updated in place to end with x. */
  state: Tensor;
  /** Output (B, DI) view. */
  out: MatrixView;
  /** Defaults to 'silu'. */
  activation?: ConvActivation;
}

/** Records one conv step; one invocation per (b, d). */
export function encodeConv1dStep(ctx: GpuContext, args: Conv1dStepArgs): void {
  const label = conv1dStepKernel.label;
  const { B, DI, K } = args;
  checkConvParameters(label, { B, L: 1, DI, K }, args.weight, args.bias, args.state);
  checkView(label, 'x', args.x, B, DI);
  checkView(label, 'out', args.out, B, DI, true);
  const inputs = { x: args.x.tensor, weight: args.weight, bias: args.bias };
  checkNoAlias(label, args.state, 'state', inputs);
  checkNoAlias(label, args.out.tensor, 'out', { ...inputs, state: args.state });

  const params = new Params().u32(B).u32(DI).u32(K).u32(args.x.colOffset).u32(args.x.rowStride).u32(args.out.colOffset).u32(args.out.rowStride);
  ctx.dispatch(conv1dStepKernel, {
    params,
    bindings: [args.x.tensor, args.weight, args.bias, args.state, args.out.tensor],
    workgroups: [Math.ceil((B * DI) / WORKGROUP_SIZE)],
    constants: { SILU: (args.activation ?? 'silu') === 'silu' ? 1 : 0 },
  });
}
