// One Mamba block (the "mixer" of mamba_ssm) on the GPU, forward and backward, over
// activations in the time-major layout (rows r = t * B + b):
//
//   [x | z] = in_proj(h)                      (rows, 2 DI)
//   u       = silu(conv1d(x) + conv bias)     (rows, DI)
//   [dt | B | C] = x_proj(u)                  (rows, R + 2N); a learned constant row when not selective
//   delta   = dt_proj(dt)                     (rows, DI), its bias is added inside the scan
//   y       = scan(u, delta, A, B, C, D) * silu(z)
//   out     = out_proj(y)                     (rows, D)
//
// The CPU reference is mambaBlockRef in gpu/reference/model.ts.
import type { GpuContext, Tensor } from '../context';
import { encodeScanBackward, encodeScanForward, encodeScanPack, type ScanWorkspace } from '../kernels/scan';
import type { MatrixView } from '../kernels/matrix_view';
import * as ops from './ops';

export interface MixerDims {
  B: number;
  L: number;
  D: number;
  DI: number;
  N: number;
  R: number;
  K: number;
  selective: boolean;
}

/** A block's parameters on the GPU; x_proj has a weight when selective, a bias otherwise. */
export interface MixerWeights {
  inProj: Tensor;
  convWeight: Tensor;
  convBias: Tensor;
  xProjWeight: Tensor | null;
  xProjBias: Tensor | null;
  dtProjWeight: Tensor;
  dtProjBias: Tensor;
  aLog: Tensor;
  D: Tensor;
  outProj: Tensor;
}

/** Gradients with the same names; dA_log lands in aLog. */
export type MixerGrads = MixerWeights;

/** Activations the forward keeps for the backward. */
export interface MixerActivations {
  xz: Tensor; // (rows, 2 DI)
  convPre: Tensor; // (rows, DI)
  u: Tensor; // (rows, DI)
  xDbl: Tensor; // (rows, R + 2N)
  delta: Tensor; // (rows, DI)
  y: Tensor; // (rows, DI)
  states: Tensor; // (slots, B, DI, N): scan states at chunk boundaries
  channel: Tensor; // (DI, N + 2): [A | D | delta bias]
}

/** Gradient buffers of the activations, reusable across layers. */
export interface MixerScratch {
  dxz: Tensor;
  dConvPre: Tensor;
  du: Tensor;
  dxDbl: Tensor;
  dDelta: Tensor;
  dy: Tensor;
}

function whole(tensor: Tensor, cols: number): MatrixView {
  return { tensor, rowStride: cols, colOffset: 0 };
}

/** Encodes out = Mixer(input); `out` is overwritten. `stateNorms` (rows, DI) receives ||h_t|| when given. */
export function encodeMixerForward(
  ctx: GpuContext,
  dims: MixerDims,
  w: MixerWeights,
  a: MixerActivations,
  input: MatrixView,
  out: MatrixView,
  workspace: ops.OpsWorkspace,
  stateNorms?: Tensor | null,
): void {
  const { B, L, D, DI, N, R, K } = dims;
  const rows = L * B;
  const width = R + 2 * N;

  ops.linearForward(ctx, { x: input, weight: w.inProj, y: whole(a.xz, 2 * DI), rows, inDim: D, outDim: 2 * DI, workspace });
  ops.convForward(ctx, { x: { tensor: a.xz, rowStride: 2 * DI, colOffset: 0 }, weight: w.convWeight, bias: w.convBias, pre: a.convPre, out: a.u, B, L, DI, K });
  if (dims.selective) {
    ops.linearForward(ctx, { x: whole(a.u, DI), weight: w.xProjWeight!, y: whole(a.xDbl, width), rows, inDim: DI, outDim: width, workspace });
  } else {
    ops.broadcastRows(ctx, { row: w.xProjBias!, out: a.xDbl, rows, width });
  }
  ops.linearForward(ctx, { x: { tensor: a.xDbl, rowStride: width, colOffset: 0 }, weight: w.dtProjWeight, y: whole(a.delta, DI), rows, inDim: R, outDim: DI, workspace });

  encodeScanPack(ctx, { DI, N, aLog: w.aLog, D: w.D, deltaBias: w.dtProjBias, channel: a.channel });
  encodeScanForward(ctx, { B, L, DI, N, G: 1 }, {
    u: a.u,
    delta: a.delta,
    xbc: { tensor: a.xDbl, rowStride: width, bOffset: R, cOffset: R + N },
    z: { tensor: a.xz, rowStride: 2 * DI, colOffset: DI },
    channel: a.channel,
    states: a.states,
    saveChunkStates: true,
    out: a.y,
    deltaSoftplus: true,
    stateNorms,
  });

  ops.linearForward(ctx, { x: whole(a.y, DI), weight: w.outProj, y: out, rows, inDim: DI, outDim: D, workspace });
}

/**
 * Encodes the backward of the block: parameter gradients into `g` (overwritten) and the
 * input gradient into `dInput` (overwritten).
 */
export function encodeMixerBackward(
  ctx: GpuContext,
  dims: MixerDims,
  w: MixerWeights,
  g: MixerGrads,
  a: MixerActivations,
  s: MixerScratch,
  scanWorkspace: ScanWorkspace,
  workspace: ops.OpsWorkspace,
  io: { dOut: MatrixView; input: MatrixView; dInput: MatrixView },
): void {
  const { B, L, D, DI, N, R, K } = dims;
  const rows = L * B;
  const width = R + 2 * N;

  // out_proj: dy = dOut @ W_out, dW_out = dOut^T y.
  ops.linearWeightGrad(ctx, { dy: io.dOut, x: whole(a.y, DI), dWeight: g.outProj, rows, inDim: DI, outDim: D, workspace });
  ops.linearInputGrad(ctx, { dy: io.dOut, weight: w.outProj, dx: whole(s.dy, DI), rows, inDim: DI, outDim: D, workspace });

  // Scan: du, ddelta, dz (the z half of dxz), dB and dC (columns of dxDbl), dA_log, dD, dbias.
  encodeScanBackward(ctx, { B, L, DI, N, G: 1 }, {
    u: a.u,
    delta: a.delta,
    xbc: { tensor: a.xDbl, rowStride: width, bOffset: R, cOffset: R + N },
    z: { tensor: a.xz, rowStride: 2 * DI, colOffset: DI },
    channel: a.channel,
    states: a.states,
    dout: s.dy,
    du: s.du,
    ddelta: s.dDelta,
    dz: { tensor: s.dxz, rowStride: 2 * DI, colOffset: DI },
    dxbc: { tensor: s.dxDbl, rowStride: width, bOffset: R, cOffset: R + N },
    dA: g.aLog,
    wrtALog: true,
    dD: g.D,
    dDeltaBias: g.dtProjBias,
    workspace: scanWorkspace,
    deltaSoftplus: true,
  });

  // dt_proj: the dt columns of dxDbl = ddelta @ W_dt; dW_dt = ddelta^T dt.
  const dtColumns = { tensor: a.xDbl, rowStride: width, colOffset: 0 };
  ops.linearWeightGrad(ctx, { dy: whole(s.dDelta, DI), x: dtColumns, dWeight: g.dtProjWeight, rows, inDim: R, outDim: DI, workspace });
  ops.linearInputGrad(ctx, { dy: whole(s.dDelta, DI), weight: w.dtProjWeight, dx: { tensor: s.dxDbl, rowStride: width, colOffset: 0 }, rows, inDim: R, outDim: DI, workspace });

  // x_proj: du += dxDbl @ W_x and dW_x = dxDbl^T u; without input dependence, dbias = column sums.
  if (dims.selective) {
    ops.linearWeightGrad(ctx, { dy: whole(s.dxDbl, width), x: whole(a.u, DI), dWeight: g.xProjWeight!, rows, inDim: DI, outDim: width, workspace });
    ops.linearInputGrad(ctx, { dy: whole(s.dxDbl, width), weight: w.xProjWeight!, dx: whole(s.du, DI), rows, inDim: DI, outDim: width, accumulate: true, workspace });
  } else {
    ops.columnSums(ctx, { x: s.dxDbl, out: g.xProjBias!, rows, width, workspace });
  }

  // conv1d + SiLU: the x half of dxz, dW_conv and db_conv.
  ops.convBackward(ctx, {
    x: { tensor: a.xz, rowStride: 2 * DI, colOffset: 0 },
    weight: w.convWeight,
    bias: w.convBias,
    pre: a.convPre,
    dOut: s.du,
    dx: { tensor: s.dxz, rowStride: 2 * DI, colOffset: 0 },
    dWeight: g.convWeight,
    dBias: g.convBias,
    B,
    L,
    DI,
    K,
    workspace,
  });

  // in_proj: dInput = dxz @ W_in; dW_in = dxz^T input.
  ops.linearWeightGrad(ctx, { dy: whole(s.dxz, 2 * DI), x: io.input, dWeight: g.inProj, rows, inDim: D, outDim: 2 * DI, workspace });
  ops.linearInputGrad(ctx, { dy: whole(s.dxz, 2 * DI), weight: w.inProj, dx: io.dInput, rows, inDim: D, outDim: 2 * DI, workspace });
}
