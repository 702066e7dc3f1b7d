// Conv state after a forward pass (prefill): the last K inputs of each (b, d), so that
// conv1d_step can continue the sequence.
import { Params, type GpuContext, type KernelSpec, type Tensor } from '../context';
import { MAX_CONV_WIDTH } from './conv1d';
import source from './conv1d_state.wgsl';
import { checkDim, checkLength, checkNoAlias, checkView, type MatrixView } from './matrix_view';
import { wgslConstant } from './wgsl_constants';

export const conv1dStateKernel: KernelSpec = { label: 'conv1d_state', source };

const WORKGROUP_SIZE = wgslConstant(source, 'WORKGROUP_SIZE');

export interface Conv1dStateArgs {
  B: number;
  L: number;
  DI: number;
  K: number;
  /** The pass's input (L * B, DI) view. */
  x: MatrixView;
  /**
   * Conv state (B, DI, K), overwritten with inputs L - K .. L - 1. When L < K the entries
   * before t = 0 come from its previous content if `continueState`, else they are zero.
   */
  state: Tensor;
  continueState?: boolean;
}

/** Records the state update; one invocation per (b, d). */
export function encodeConv1dState(ctx: GpuContext, args: Conv1dStateArgs): void {
  const label = conv1dStateKernel.label;
  const { B, L, DI, K } = args;
  checkDim(label, 'B', B, 1);
  checkDim(label, 'L', L, 0);
  checkDim(label, 'DI', DI, 1);
  checkDim(label, 'K', K, 1, MAX_CONV_WIDTH);
  checkLength(label, 'state', args.state, B * DI * K);
  if (L > 0) checkView(label, 'x', args.x, L * B, DI);
  checkNoAlias(label, args.state, 'state', { x: args.x.tensor });

  const params = new Params().u32(B).u32(L).u32(DI).u32(K).u32(args.x.colOffset).u32(args.x.rowStride).u32(args.continueState ? 1 : 0);
  ctx.dispatch(conv1dStateKernel, { params, bindings: [args.x.tensor, args.state], workgroups: [Math.ceil((B * DI) / WORKGROUP_SIZE)] });
}
