// CPU reference of the SaShiMi U-Net backbone (gpu/model/sashimi-config.ts gives the
// architecture): the parallel forward over a whole sequence, and the recurrent step with
// per-level buffers, which must give the same logits at every position.
//
// Step semantics, per level s < S with pool factor p and the level's own step counter
// t_s = floor(t / stride_s):
//   1. the down blocks step on x, and skip = x;
//   2. the UpPool output for t_s is column block j = t_s mod p of the up buffer (B, p * D_s),
//      zeros until the first pooled step has finished;
//   3. x goes into column block j of the down buffer (B, p * D_s). When j = p - 1 the
//      buffer is one pooled row: DownPool's linear maps it to level s + 1, which steps once,
//      and UpPool's linear turns its output into the next p outputs, in the up buffer;
//   4. x = UpPool output + skip, then the up blocks step.
// Reading the up buffer (2) before refilling it (3) is the one-pooled-step causal shift.
// State per level: the two buffers and each block's conv and SSM states, so memory stays
// constant however long the sequence.
import { blockParameterNames, EMBEDDING, FINAL_NORM, HEAD, type BackboneBlock, type ModelConfig } from '../model/config';
import type { ParameterMap } from '../model/init';
import { poolParameterNames, sashimiLevels, sashimiStageList, stageBlocks, type SashimiLevel, type SashimiStage } from '../model/sashimi-config';
import { mambaBlockRef, rmsNormRef, type BlockForward, type BlockParameters } from './model';
import { mambaBlockStep, ReferenceGeneratorLoop, rmsNorm, silu, softplus, type BlockTrace, type LayerState } from './step';
import { timePoolRef } from './time_pool';

function required(params: ParameterMap, name: string): Float32Array {
  const values = params.get(name);
  if (!values) throw new Error(`Parameter ${name} is missing from the parameter map.`);
  return values;
}

/** Picks a block's parameters out of the map by the block's name prefix. */
export function blockParametersOf(params: ParameterMap, block: BackboneBlock): BlockParameters {
  const names = blockParameterNames(block.prefix);
  return {
    inProj: required(params, names.inProj),
    convWeight: required(params, names.convWeight),
    convBias: required(params, names.convBias),
    xProjWeight: block.selective ? required(params, names.xProjWeight) : null,
    xProjBias: block.selective ? null : required(params, names.xProjBias),
    dtProjWeight: required(params, names.dtProjWeight),
    dtProjBias: required(params, names.dtProjBias),
    aLog: required(params, names.aLog),
    D: required(params, names.D),
    outProj: required(params, names.outProj),
  };
}

/** out (rows, outDim) = x (rows, inDim) @ weight^T + bias, summed in float64. */
export function linearWithBias(x: Float32Array, rows: number, inDim: number, weight: Float32Array, bias: Float32Array, outDim: number): Float32Array {
  const out = new Float32Array(rows * outDim);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outDim; o++) {
      let sum = bias[o];
      for (let i = 0; i < inDim; i++) sum += x[r * inDim + i] * weight[o * inDim + i];
      out[r * outDim + o] = sum;
    }
  }
  return out;
}

function blockDimsOf(config: ModelConfig, D: number) {
  return { D, DI: config.expand * D, N: config.dState, R: config.dtRank, K: config.dConv };
}

/** One block of the parallel forward: its RMSNorm output (L_s, B, D_s), the mixer's input, and the mixer's intermediates. */
interface BlockRecord {
  block: BackboneBlock;
  level: number;
  normed: Float32Array;
  forward: BlockForward;
}

/** Runs a stage's residual blocks over x (L, B, D) in parallel, appending one record per block to `records`. */
function stageForward(config: ModelConfig, params: ParameterMap, stage: SashimiStage, x: Float32Array, L: number, B: number, records: BlockRecord[]): Float32Array {
  const D = stage.dModel;
  const rows = L * B;
  let current: Float32Array = x;
  for (const block of stageBlocks(stage)) {
    const normed = rmsNormRef(current, rows, D, required(params, blockParameterNames(block.prefix).norm), config.rmsNormEps);
    const forward = mambaBlockRef({ B, L, ...blockDimsOf(config, D) }, blockParametersOf(params, block), normed);
    records.push({ block, level: stage.level, normed, forward });
    const next = new Float32Array(rows * D);
    for (let i = 0; i < next.length; i++) next[i] = current[i] + forward.out[i];
    current = next;
  }
  return current;
}

function stagesByLevel(config: ModelConfig): { down: SashimiStage[]; center: SashimiStage; up: SashimiStage[] } {
  const stages = sashimiStageList(config);
  const down: SashimiStage[] = [];
  const up: SashimiStage[] = [];
  let center: SashimiStage | null = null;
  for (const stage of stages) {
    if (stage.kind === 'down') down[stage.level] = stage;
    else if (stage.kind === 'up') up[stage.level] = stage;
    else center = stage;
  }
  return { down, center: center!, up };
}

function headLogits(config: ModelConfig, params: ParameterMap, x: Float32Array, rows: number): Float32Array {
  const D = config.dModel;
  const V = config.vocabSize;
  const normed = rmsNormRef(x, rows, D, required(params, FINAL_NORM), config.rmsNormEps);
  return linearWithBias(normed, rows, D, required(params, HEAD), new Float32Array(V), V);
}

/** Intermediates of the parallel forward that prefill and traces read. */
interface ForwardParts {
  /** (L, B, V) */
  logits: Float32Array;
  /** Every block in forward order. */
  blocks: BlockRecord[];
  /** Per level s < S: DownPool's input, the skips pooled into (L_{s+1}, B, p D_s) rows. */
  pooled: Float32Array[];
  /** Per level s < S: UpPool's linear output (L_{s+1}, B, p D_s), before the one-step shift. */
  upLinear: Float32Array[];
}

function sashimiForwardParts(config: ModelConfig, params: ParameterMap, codes: ArrayLike<number>, B: number): ForwardParts {
  const levels = sashimiLevels(config);
  const S = levels.length - 1;
  const L = codes.length / B;
  const product = levels[S].stride;
  if (!Number.isInteger(L) || L % product !== 0) throw new RangeError(`sashimiForwardRef: L = ${L} is not a multiple of ${product}, the product of the pool factors`);
  const { down, center, up } = stagesByLevel(config);
  const D0 = config.dModel;
  const embedding = required(params, EMBEDDING);
  let x: Float32Array = new Float32Array(L * B * D0);
  for (let r = 0; r < L * B; r++) x.set(embedding.subarray(codes[r] * D0, (codes[r] + 1) * D0), r * D0);

  const blocks: BlockRecord[] = [];
  const skips: Float32Array[] = [];
  const pooledRows: Float32Array[] = [];
  const upLinears: Float32Array[] = [];
  let length = L;
  for (let s = 0; s < S; s++) {
    const { dModel: D, pool: p } = levels[s];
    x = stageForward(config, params, down[s], x, length, B, blocks);
    skips[s] = x;
    const pooled = timePoolRef('pool', { B, L: length, factor: p, C: D, shift: 0 }, x);
    pooledRows[s] = pooled;
    length /= p;
    const names = poolParameterNames('down', s);
    x = linearWithBias(pooled, length * B, p * D, required(params, names.weight), required(params, names.bias), levels[s + 1].dModel);
  }
  x = stageForward(config, params, center, x, length, B, blocks);
  for (let s = S - 1; s >= 0; s--) {
    const { dModel: D, pool: p } = levels[s];
    const names = poolParameterNames('up', s);
    const upLinear = linearWithBias(x, length * B, levels[s + 1].dModel, required(params, names.weight), required(params, names.bias), p * D);
    upLinears[s] = upLinear;
    length *= p;
    x = timePoolRef('unpool', { B, L: length, factor: p, C: D, shift: 1 }, upLinear);
    for (let i = 0; i < x.length; i++) x[i] += skips[s][i];
    x = stageForward(config, params, up[s], x, length, B, blocks);
  }
  return { logits: headLogits(config, params, x, L * B), blocks, pooled: pooledRows, upLinear: upLinears };
}

/**
 * Runs the parallel forward of a SaShiMi model on codes (L, B), time-major, and returns the logits
 * (L, B, V). L must be a multiple of the product of the pool factors.
 */
export function sashimiForwardRef(config: ModelConfig, params: ParameterMap, codes: ArrayLike<number>, B: number): Float32Array {
  return sashimiForwardParts(config, params, codes, B).logits;
}

/** Selectivity traces of one block at its level's resolution, each (L_s, B, DI_s) time-major. */
export interface SashimiBlockTraces {
  /** Index of the block in forward order. */
  block: number;
  level: number;
  /** Samples per row: the level's stride, so row k covers samples [k * stride, (k + 1) * stride). */
  stride: number;
  /** Channels DI_s = expand * D_s. */
  channels: number;
  /** Step size after bias and softplus. */
  delta: Float32Array;
  /** The output gate silu(z). */
  gate: Float32Array;
  /** L2 norm of the SSM state over its N entries, after each step. */
  stateNorm: Float32Array;
}

/** Runs the parallel forward on codes (L, B) and returns every block's selectivity traces. L must be a multiple of the pool product. */
export function sashimiTracesRef(config: ModelConfig, params: ParameterMap, codes: ArrayLike<number>, B: number): SashimiBlockTraces[] {
  const levels = sashimiLevels(config);
  return sashimiForwardParts(config, params, codes, B).blocks.map(({ block, level, forward }) => {
    const DI = config.expand * block.dModel;
    const rows = forward.deltaRaw.length / DI;
    const bias = blockParametersOf(params, block).dtProjBias;
    const delta = new Float32Array(rows * DI);
    const gate = new Float32Array(rows * DI);
    for (let r = 0; r < rows; r++) {
      for (let d = 0; d < DI; d++) {
        delta[r * DI + d] = softplus(forward.deltaRaw[r * DI + d] + bias[d]);
        gate[r * DI + d] = silu(forward.xz[r * 2 * DI + DI + d]);
      }
    }
    return { block: block.index, level, stride: levels[level].stride, channels: DI, delta, gate, stateNorm: forward.stateNorms };
  });
}

/**
 * Returns the prompt length rounded up to the pool product, the length the parallel
 * forward runs on when it prefills an L-sample prompt.
 */
export function paddedPromptLength(config: ModelConfig, L: number): number {
  const product = sashimiLevels(config).at(-1)!.stride;
  return Math.ceil(L / product) * product;
}

/**
 * Runs a prompt (L, B) through the parallel forward and returns the state that
 * sashimiStep would have after consuming it, and the logits of its last sample (B, V).
 *
 * Any L works. The forward runs on the prompt padded with code 0 up to a multiple of the
 * pool product. Because every level is causal, the first n_s = floor(L / stride_s)
 * positions of level s do not depend on the padding, and level s has stepped exactly n_s
 * times after L samples. Each block's state is therefore the state after position
 * n_s - 1 of its level, computed here by rerunning the block on those n_s positions. The
 * pooling buffers come from the forward's pooled rows: column block j of the down buffer
 * contains the skip of the last position <= n_s - 1 that is j modulo p (stale columns
 * included, as stepping leaves them), and the up buffer contains UpPool's output for the
 * last finished pooled step.
 */
export function sashimiPrefillRef(config: ModelConfig, params: ParameterMap, codes: ArrayLike<number>, B: number): { state: SashimiState; lastLogits: Float32Array } {
  const L = codes.length / B;
  if (!Number.isInteger(L) || L < 1) throw new RangeError(`sashimiPrefillRef: ${codes.length} codes do not split into B = ${B} streams of at least one sample`);
  const levels = sashimiLevels(config);
  const V = config.vocabSize;
  const padded = new Uint32Array(paddedPromptLength(config, L) * B);
  padded.set(Array.from(codes));
  const parts = sashimiForwardParts(config, params, padded, B);
  const state = createSashimiState(config, B);
  const stepsOf = (level: number) => Math.floor(L / levels[level].stride);

  for (const { block, level, normed } of parts.blocks) {
    const n = stepsOf(level);
    if (n === 0) continue;
    const D = block.dModel;
    const prefix = mambaBlockRef({ B, L: n, ...blockDimsOf(config, D) }, blockParametersOf(params, block), normed.subarray(0, n * B * D));
    state.blocks[block.index] = { conv: prefix.convState, ssm: prefix.ssmState };
  }

  for (let s = 0; s < levels.length - 1; s++) {
    const { dModel: D, pool: p } = levels[s];
    const rowWidth = B * p * D;
    const n = stepsOf(s);
    const group = Math.floor(n / p);
    const filled = n % p;
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < p; j++) {
        // Columns j < filled belong to the unfinished group; the others still contain the previous group's skips.
        const row = j < filled ? group : group - 1;
        if (row < 0) continue;
        const source = row * rowWidth + b * p * D + j * D;
        state.down[s].set(parts.pooled[s].subarray(source, source + D), b * p * D + j * D);
      }
    }
    if (group > 0) state.up[s].set(parts.upLinear[s].subarray((group - 1) * rowWidth, group * rowWidth));
  }
  state.time = L;
  return { state, lastLogits: parts.logits.slice((L - 1) * B * V, L * B * V) };
}

/** The recurrent state of a SaShiMi model for B streams. */
export interface SashimiState {
  /** Per block in forward order: conv (B, DI, K) and SSM (B, DI, N) states. */
  blocks: LayerState[];
  /** Per level s < S: the inputs collected for the next pooled step, (B, p * D_s). */
  down: Float32Array[];
  /** Per level s < S: UpPool's output for the current pooled step, (B, p * D_s). */
  up: Float32Array[];
  /** Samples consumed since the state was zeroed. */
  time: number;
}

/** Zeroed states, as before the first sample. */
export function createSashimiState(config: ModelConfig, batch: number): SashimiState {
  const levels = sashimiLevels(config);
  const blocks = sashimiStageList(config).flatMap((stage) =>
    stageBlocks(stage).map(() => {
      const DI = config.expand * stage.dModel;
      return { conv: new Float32Array(batch * DI * config.dConv), ssm: new Float32Array(batch * DI * config.dState) };
    }),
  );
  const buffers = () => levels.slice(0, -1).map((level) => new Float32Array(batch * level.pool * level.dModel));
  return { blocks, down: buffers(), up: buffers(), time: 0 };
}

/** Per block in forward order, one BlockTrace (B, DI_s) for each step the block took. */
export type SashimiStepTraces = BlockTrace[][];

/** Steps a stage's residual blocks on x (B, D) in place. */
function stageStep(config: ModelConfig, params: ParameterMap, stage: SashimiStage, x: Float32Array, state: SashimiState, batch: number, traces?: SashimiStepTraces): void {
  const D = stage.dModel;
  const DI = config.expand * D;
  for (const block of stageBlocks(stage)) {
    const normed = rmsNorm(x, required(params, blockParameterNames(block.prefix).norm), config.rmsNormEps, batch, D);
    let trace: BlockTrace | undefined;
    if (traces) {
      trace = { delta: new Float32Array(batch * DI), gate: new Float32Array(batch * DI), stateNorm: new Float32Array(batch * DI) };
      traces[block.index].push(trace);
    }
    const out = mambaBlockStep(blockDimsOf(config, D), blockParametersOf(params, block), normed, state.blocks[block.index], batch, trace);
    for (let i = 0; i < x.length; i++) x[i] += out[i];
  }
}

function levelStep(
  config: ModelConfig,
  params: ParameterMap,
  levels: SashimiLevel[],
  stages: ReturnType<typeof stagesByLevel>,
  s: number,
  x: Float32Array,
  time: number,
  state: SashimiState,
  batch: number,
  traces?: SashimiStepTraces,
): Float32Array {
  const S = levels.length - 1;
  if (s === S) {
    stageStep(config, params, stages.center, x, state, batch, traces);
    return x;
  }
  const { dModel: D, pool: p } = levels[s];
  stageStep(config, params, stages.down[s], x, state, batch, traces);

  const j = time % p;
  const upBuffer = state.up[s];
  const downBuffer = state.down[s];
  const next = new Float32Array(batch * D);
  for (let b = 0; b < batch; b++) {
    for (let c = 0; c < D; c++) {
      next[b * D + c] = upBuffer[b * p * D + j * D + c] + x[b * D + c];
      downBuffer[b * p * D + j * D + c] = x[b * D + c];
    }
  }
  if (j === p - 1) {
    const downNames = poolParameterNames('down', s);
    const innerWidth = levels[s + 1].dModel;
    const pooled = linearWithBias(downBuffer, batch, p * D, required(params, downNames.weight), required(params, downNames.bias), innerWidth);
    const inner = levelStep(config, params, levels, stages, s + 1, pooled, Math.floor(time / p), state, batch, traces);
    const upNames = poolParameterNames('up', s);
    upBuffer.set(linearWithBias(inner, batch, innerWidth, required(params, upNames.weight), required(params, upNames.bias), p * D));
  }
  stageStep(config, params, stages.up[s], next, state, batch, traces);
  return next;
}

/**
 * Consumes one code per stream, advances `state` in place and returns the logits (B, V).
 * With `traces`, appends a BlockTrace to the list of every block that stepped.
 */
export function sashimiStep(config: ModelConfig, params: ParameterMap, codes: ArrayLike<number>, state: SashimiState, traces?: SashimiStepTraces): Float32Array {
  const batch = codes.length;
  const D = config.dModel;
  const V = config.vocabSize;
  const embedding = required(params, EMBEDDING);
  const x = new Float32Array(batch * D);
  for (let b = 0; b < batch; b++) {
    const code = codes[b];
    if (!Number.isInteger(code) || code < 0 || code >= V) throw new RangeError(`code ${code} of stream ${b} is outside 0..${V - 1}`);
    x.set(embedding.subarray(code * D, (code + 1) * D), b * D);
  }
  const out = levelStep(config, params, sashimiLevels(config), stagesByLevel(config), 0, x, state.time, state, batch, traces);
  state.time++;
  const normed = rmsNorm(out, required(params, FINAL_NORM), config.rmsNormEps, batch, D);
  return linearWithBias(normed, batch, D, required(params, HEAD), new Float32Array(V), V);
}

/**
 * The CPU reference generator of SaShiMi models: ReferenceGeneratorLoop's sampling over
 * sashimiStep, so draws are numbered by the samples generated since reset() as for flat models.
 */
export class ReferenceSashimiGenerator extends ReferenceGeneratorLoop {
  state: SashimiState;

  constructor(config: ModelConfig, params: ParameterMap, batch: number) {
    super(config, params, batch);
    this.state = createSashimiState(config, batch);
  }

  override reset(): void {
    super.reset();
    this.state = createSashimiState(this.config, this.batch);
  }

  /** Feeds one code per stream and returns the logits (B, V). With `traces`, appends each stepped block's trace. */
  step(codes: ArrayLike<number>, traces?: SashimiStepTraces): Float32Array {
    if (codes.length !== this.batch) throw new RangeError(`step: ${codes.length} codes for a batch of ${this.batch}`);
    this.pendingLogits = sashimiStep(this.config, this.params, codes, this.state, traces);
    return this.pendingLogits;
  }
}
