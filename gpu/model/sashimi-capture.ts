// Reads what the parallel forward of a SaShiMi U-Net (sashimi-lm.ts) leaves on the GPU:
// the recurrent state after a prompt, for SashimiGenerator to continue from, and every
// block's selectivity traces. The CPU references are sashimiPrefillRef and
// sashimiTracesRef in reference/sashimi.ts.
//
// Prefill of an L-sample prompt, any L: the forward runs on the prompt padded with code 0
// up to a multiple of the pool product. Every level is causal, so the first
// n_s = floor(L / stride_s) positions of level s do not depend on the padding, and after L
// samples the step schedule of sashimiStep has stepped level s exactly n_s times. So:
//   - a block's conv state contains its inputs x at positions n_s - K .. n_s - 1;
//   - its SSM state is the scan's state after position n_s - 1. When n_s is the level's
//     whole length, that is the forward's last saved state. Otherwise the scan runs again
//     over the first n_s positions of the forward's own scan inputs;
//   - level s's down buffer (B, p D_s) contains, in column block j, the skip of the last
//     position <= n_s - 1 that is j modulo p. With g = floor(n_s / p) and f = n_s mod p,
//     blocks j < f come from pooled row g (the unfinished group) and the others from row
//     g - 1, the last full group, which stepping leaves there too;
//   - its up buffer contains UpPool's linear output of row g - 1, the last finished pooled step.
import type { GpuContext, Tensor } from '../context';
import { encodeConv1dState } from '../kernels/conv1d_state';
import { encodeScanForward } from '../kernels/scan';
import { createSashimiState, paddedPromptLength, type SashimiBlockTraces, type SashimiState } from '../reference/sashimi';
import type { LayerState } from '../reference/step';
import { blockParameterNames, type BackboneBlock, type ModelConfig } from './config';
import type { MixerActivations } from './mixer';
import { sashimiLevels } from './sashimi-config';
import type { SashimiLM } from './sashimi-lm';

/** The last forward's tensors, as SashimiLM.forwardTensors() returns them. */
export interface SashimiForwardTensors {
  B: number;
  /** Samples of the forward, a multiple of the pool product. */
  L: number;
  /** Per block in forward order. */
  blocks: Array<{
    block: BackboneBlock;
    level: number;
    /** Positions L_s of the block's level. */
    L: number;
    activations: MixerActivations;
    /** ||h_t|| (L_s, B, DI_s), or null when the forward ran without traces. */
    stateNorms: Tensor | null;
  }>;
  /** Per level s < S: the skips pooled into rows (L_{s+1}, B, p D_s), DownPool's input. */
  pooled: Tensor[];
  /** Per level s < S: UpPool's linear output (L_{s+1}, B, p D_s), before the one-step shift. */
  upLinear: Tensor[];
  /** (L, B, V) */
  logits: Tensor;
}

/** Runs the prompt (L, B) through `model` and reads the state after its last sample, as the file header describes. */
export async function captureSashimiPrefill(ctx: GpuContext, model: SashimiLM, inputs: Uint32Array, B: number): Promise<{ state: SashimiState; lastLogits: Float32Array }> {
  const L = inputs.length / B;
  if (!Number.isInteger(L) || L < 1) throw new Error(`SashimiLM.prefill: ${inputs.length} codes do not split into B = ${B} streams of at least one sample`);
  const { config } = model;
  const V = config.vocabSize;
  const padded = new Uint32Array(paddedPromptLength(config, L) * B);
  padded.set(inputs);
  model.encodeForward(padded, B);
  const forward = model.forwardTensors();
  const levels = sashimiLevels(config);
  const stepsOf = (level: number) => Math.floor(L / levels[level].stride);

  const state = createSashimiState(config, B);
  for (const entry of forward.blocks) {
    const steps = stepsOf(entry.level);
    // A level that has not stepped yet keeps the zero state createSashimiState made.
    if (steps > 0) state.blocks[entry.block.index] = await readBlockState(ctx, config, entry, steps, B);
  }

  for (let s = 0; s < levels.length - 1; s++) {
    const { dModel: D, pool: p } = levels[s];
    const rowLength = B * p * D;
    const steps = stepsOf(s);
    const group = Math.floor(steps / p);
    const filled = steps % p;
    const unfinished = filled > 0 ? await ctx.read(forward.pooled[s], group * rowLength, rowLength) : null;
    const previous = group > 0 ? await ctx.read(forward.pooled[s], (group - 1) * rowLength, rowLength) : null;
    for (let j = 0; j < p; j++) {
      const source = j < filled ? unfinished : previous;
      if (!source) continue;
      for (let b = 0; b < B; b++) {
        const offset = b * p * D + j * D;
        state.down[s].set(source.subarray(offset, offset + D), offset);
      }
    }
    if (group > 0) state.up[s] = await ctx.read(forward.upLinear[s], (group - 1) * rowLength, rowLength);
  }
  state.time = L;
  return { state, lastLogits: await ctx.read(forward.logits, (L - 1) * B * V, B * V) };
}

/** Reads one block's conv state (B, DI, K) and SSM state (B, DI, N) after the first `steps` positions of its level. */
async function readBlockState(ctx: GpuContext, config: ModelConfig, entry: SashimiForwardTensors['blocks'][number], steps: number, B: number): Promise<LayerState> {
  const { dState: N, dtRank: R, dConv: K } = config;
  const DI = config.expand * entry.block.dModel;
  const a = entry.activations;
  const convState = ctx.tensor(`${entry.block.prefix} prefill conv state`, [B, DI, K]);
  const ssmState = steps < entry.L ? ctx.tensor(`${entry.block.prefix} prefill SSM state`, [1, B, DI, N]) : null;
  const scanOut = steps < entry.L ? ctx.tensor(`${entry.block.prefix} prefill scan output`, [steps, B, DI]) : null;
  try {
    encodeConv1dState(ctx, { B, L: steps, DI, K, x: { tensor: a.xz, rowStride: 2 * DI, colOffset: 0 }, state: convState });
    const conv = await ctx.read(convState);
    if (!ssmState) {
      // The forward saved the state after every chunk; its last slot is the state after the last position.
      const slots = a.states.shape[0];
      return { conv, ssm: await ctx.read(a.states, (slots - 1) * B * DI * N, B * DI * N) };
    }
    // Only the state matters here, so the gate z is left out of this rerun.
    encodeScanForward(ctx, { B, L: steps, DI, N, G: 1 }, {
      u: a.u,
      delta: a.delta,
      xbc: { tensor: a.xDbl, rowStride: R + 2 * N, bOffset: R, cOffset: R + N },
      channel: a.channel,
      states: ssmState,
      saveChunkStates: false,
      out: scanOut!,
      deltaSoftplus: true,
    });
    return { conv, ssm: await ctx.read(ssmState) };
  } finally {
    ctx.release(convState, ssmState, scanOut);
  }
}

/**
 * Returns delta = softplus(deltaRaw + bias) and the gate silu(z), each (rows, DI), from the
 * raw dt_proj output (rows, DI) and z, read from columns zOffset .. zOffset + DI of rows of
 * `zStride` floats (the z half of in_proj's [x | z] output).
 */
export function selectivityOf(deltaRaw: Float32Array, bias: Float32Array, z: Float32Array, zStride: number, zOffset: number, rows: number, DI: number): { delta: Float32Array; gate: Float32Array } {
  const delta = new Float32Array(rows * DI);
  const gate = new Float32Array(rows * DI);
  for (let r = 0; r < rows; r++) {
    for (let d = 0; d < DI; d++) {
      const raw = deltaRaw[r * DI + d] + bias[d];
      delta[r * DI + d] = raw > 20 ? raw : Math.log1p(Math.exp(raw));
      const value = z[r * zStride + zOffset + d];
      gate[r * DI + d] = value / (1 + Math.exp(-value));
    }
  }
  return { delta, gate };
}

/** Reads every block's traces from the last forward, which must have run with traces. */
export async function readSashimiTraces(ctx: GpuContext, model: SashimiLM): Promise<SashimiBlockTraces[]> {
  const forward = model.forwardTensors();
  const levels = sashimiLevels(model.config);
  const traces: SashimiBlockTraces[] = [];
  for (const entry of forward.blocks) {
    if (!entry.stateNorms) throw new Error('SashimiLM: the last forward ran without traces; call inspect()');
    const DI = model.config.expand * entry.block.dModel;
    const rows = entry.L * forward.B;
    const bias = await ctx.read(model.params.get(blockParameterNames(entry.block.prefix).dtProjBias)!);
    const { delta, gate } = selectivityOf(await ctx.read(entry.activations.delta), bias, await ctx.read(entry.activations.xz), 2 * DI, DI, rows, DI);
    traces.push({ block: entry.block.index, level: entry.level, stride: levels[entry.level].stride, channels: DI, delta, gate, stateNorm: await ctx.read(entry.stateNorms) });
  }
  return traces;
}
