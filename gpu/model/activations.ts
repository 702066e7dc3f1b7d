// Buffers and the loss step that the flat model (lm.ts) and the U-Net (sashimi-lm.ts) share:
// the parameter upload, one residual block's activations for a (B, L) shape, the
// per-target loss weights, and the cross-entropy over the logits.
import { elementCount, type GpuContext, type Tensor } from '../context';
import type { ParameterSpec } from './config';
import type { ParameterMap } from './init';
import type { MixerActivations, MixerDims } from './mixer';
import * as ops from './ops';

/**
 * Uploads each spec's values into `params` as a tensor named after the parameter, and
 * with `grads` a zeroed gradient tensor beside each. Throws, prefixed with `owner`, when
 * a parameter is missing or its length does not match its shape.
 */
export function uploadParameters(
  ctx: GpuContext,
  owner: string,
  specs: readonly ParameterSpec[],
  values: ParameterMap,
  params: Map<string, Tensor>,
  grads?: Map<string, Tensor>,
): void {
  for (const spec of specs) {
    const data = values.get(spec.name);
    if (!data) throw new Error(`${owner}: parameter ${spec.name} is missing`);
    if (data.length !== elementCount(spec.shape)) throw new Error(`${owner}: parameter ${spec.name} has ${data.length} values, expected shape [${spec.shape}]`);
    params.set(spec.name, ctx.tensor(spec.name, spec.shape, data));
    grads?.set(spec.name, ctx.tensor(`grad ${spec.name}`, spec.shape));
  }
}

/** Reads every parameter tensor back to the CPU, by name. */
export async function readParameterValues(ctx: GpuContext, params: ReadonlyMap<string, Tensor>): Promise<ParameterMap> {
  const values: ParameterMap = new Map();
  for (const [name, tensor] of params) values.set(name, await ctx.read(tensor));
  return values;
}

/** Overwrites every parameter tensor with its value in `values`; throws, prefixed with `owner`, when one is missing or of another size. */
export function writeParameterValues(ctx: GpuContext, owner: string, params: ReadonlyMap<string, Tensor>, values: ParameterMap): void {
  for (const [name, tensor] of params) {
    const data = values.get(name);
    if (!data || data.length !== elementCount(tensor.shape)) throw new Error(`${owner}: parameter ${name} is missing or of the wrong size`);
    ctx.write(tensor, data);
  }
}

/** Activations of one residual block, time-major (L, B, ...), kept for the backward. */
export interface BlockActivations extends MixerActivations {
  /** Block input, the residual stream (L, B, D). */
  x: Tensor;
  /** 1 / RMS of each row of x (L, B). */
  rstd: Tensor;
  /** RMSNorm(x) * weight (L, B, D), the mixer's input. */
  normed: Tensor;
}

/** The mixer's sizes that set the activation shapes. */
export interface BlockShape extends Omit<MixerDims, 'K' | 'selective'> {
  /** Chunk-boundary state slots of the scan, from scanStateSlots(). */
  slots: number;
}

/**
 * Allocates one block's activations, labelled by `label(part)`. A given `x` becomes the
 * block input instead of a new tensor, e.g. the input of a U-Net stage.
 */
export function allocateBlockActivations(ctx: GpuContext, label: (part: string) => string, shape: BlockShape, x?: Tensor): BlockActivations {
  const { B, L, D, DI, N, R, slots } = shape;
  return {
    x: x ?? ctx.tensor(label('x'), [L, B, D]),
    rstd: ctx.tensor(label('rstd'), [L, B]),
    normed: ctx.tensor(label('normed'), [L, B, D]),
    xz: ctx.tensor(label('xz'), [L, B, 2 * DI]),
    convPre: ctx.tensor(label('conv pre-activation'), [L, B, DI]),
    u: ctx.tensor(label('u'), [L, B, DI]),
    xDbl: ctx.tensor(label('x_dbl'), [L, B, R + 2 * N]),
    delta: ctx.tensor(label('delta'), [L, B, DI]),
    y: ctx.tensor(label('y'), [L, B, DI]),
    states: ctx.tensor(label('scan states'), [slots, B, DI, N]),
    channel: ctx.tensor(label('channel parameters'), [DI, N + 2]),
  };
}

/** Per-target loss weights on the GPU and their sum, the denominator of the weighted mean. */
export interface TargetWeights {
  tensor: Tensor;
  weightSum: number;
}

/**
 * Uploads weights (L * B) for the loss into `current`, or into a new (L, B) tensor when
 * `current` is null. Throws, prefixed with `owner`, when the count is not L * B or the
 * weights sum to zero.
 */
export function uploadTargetWeights(ctx: GpuContext, owner: string, current: Tensor | null, weights: Float32Array, L: number, B: number): TargetWeights {
  const rows = L * B;
  if (weights.length !== rows) throw new Error(`${owner}: ${weights.length} target weights for ${rows} targets`);
  const weightSum = weights.reduce((sum, w) => sum + w, 0);
  if (!(weightSum > 0)) throw new Error(`${owner}: the target weights sum to zero, so no position is scored`);
  const tensor = current ?? ctx.tensor('target weights', [L, B]);
  ctx.write(tensor, weights);
  return { tensor, weightSum };
}

/** Tensors of the loss over `rows` = L * B positions. */
export interface LossTensors {
  /** (L, B, V) */
  logits: Tensor;
  /** (L, B) u32 */
  targets: Tensor;
  /** (L, B), nats */
  rowLoss: Tensor;
  /** (1), the (weighted) mean of rowLoss */
  meanLoss: Tensor;
  /** (L, B, V), the gradient of meanLoss */
  dLogits: Tensor;
}

/** Encodes the cross-entropy of the logits against the targets, weighted when `weights` is given. */
export function encodeCrossEntropy(ctx: GpuContext, loss: LossTensors, weights: TargetWeights | null, rows: number, V: number, workspace: ops.OpsWorkspace): void {
  ops.crossEntropy(ctx, { ...loss, weights: weights?.tensor ?? null, weightSum: weights?.weightSum, rows, V, workspace });
}
