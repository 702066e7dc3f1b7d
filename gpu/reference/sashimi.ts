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
import { sampleLogits, sampleUniform, validateSampling } from '../generate/sampler';
import { mambaBlockRef, rmsNormRef, type BlockParameters } from './model';
import { mambaBlockStep, rmsNorm, type LayerState } from './step';
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

/** Runs a stage's residual blocks over x (L, B, D) in parallel. */
function stageForward(config: ModelConfig, params: ParameterMap, stage: SashimiStage, x: Float32Array, L: number, B: number): Float32Array {
  const D = stage.dModel;
  const rows = L * B;
  let current: Float32Array = x;
  for (const block of stageBlocks(stage)) {
    const normed = rmsNormRef(current, rows, D, required(params, blockParameterNames(block.prefix).norm), config.rmsNormEps);
    const out = mambaBlockRef({ B, L, ...blockDimsOf(config, D) }, blockParametersOf(params, block), normed).out;
    const next = new Float32Array(rows * D);
    for (let i = 0; i < next.length; i++) next[i] = current[i] + out[i];
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

/**
 * Runs the parallel forward of a SaShiMi model on codes (L, B), time-major, and returns the logits
 * (L, B, V). L must be a multiple of the product of the pool factors.
 */
export function sashimiForwardRef(config: ModelConfig, params: ParameterMap, codes: ArrayLike<number>, B: number): Float32Array {
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

  const skips: Float32Array[] = [];
  let length = L;
  for (let s = 0; s < S; s++) {
    const { dModel: D, pool: p } = levels[s];
    x = stageForward(config, params, down[s], x, length, B);
    skips[s] = x;
    const pooled = timePoolRef('pool', { B, L: length, factor: p, C: D, shift: 0 }, x);
    length /= p;
    const names = poolParameterNames('down', s);
    x = linearWithBias(pooled, length * B, p * D, required(params, names.weight), required(params, names.bias), levels[s + 1].dModel);
  }
  x = stageForward(config, params, center, x, length, B);
  for (let s = S - 1; s >= 0; s--) {
    const { dModel: D, pool: p } = levels[s];
    const names = poolParameterNames('up', s);
    const upLinear = linearWithBias(x, length * B, levels[s + 1].dModel, required(params, names.weight), required(params, names.bias), p * D);
    length *= p;
    x = timePoolRef('unpool', { B, L: length, factor: p, C: D, shift: 1 }, upLinear);
    for (let i = 0; i < x.length; i++) x[i] += skips[s][i];
    x = stageForward(config, params, up[s], x, length, B);
  }
  return headLogits(config, params, x, L * B);
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

/** Steps a stage's residual blocks on x (B, D) in place. */
function stageStep(config: ModelConfig, params: ParameterMap, stage: SashimiStage, x: Float32Array, state: SashimiState, batch: number): void {
  const D = stage.dModel;
  for (const block of stageBlocks(stage)) {
    const normed = rmsNorm(x, required(params, blockParameterNames(block.prefix).norm), config.rmsNormEps, batch, D);
    const out = mambaBlockStep(blockDimsOf(config, D), blockParametersOf(params, block), normed, state.blocks[block.index], batch);
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
): Float32Array {
  const S = levels.length - 1;
  if (s === S) {
    stageStep(config, params, stages.center, x, state, batch);
    return x;
  }
  const { dModel: D, pool: p } = levels[s];
  stageStep(config, params, stages.down[s], x, state, batch);

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
    const inner = levelStep(config, params, levels, stages, s + 1, pooled, Math.floor(time / p), state, batch);
    const upNames = poolParameterNames('up', s);
    upBuffer.set(linearWithBias(inner, batch, innerWidth, required(params, upNames.weight), required(params, upNames.bias), p * D));
  }
  stageStep(config, params, stages.up[s], next, state, batch);
  return next;
}

/** Consumes one code per stream, advances `state` in place and returns the logits (B, V). */
export function sashimiStep(config: ModelConfig, params: ParameterMap, codes: ArrayLike<number>, state: SashimiState): Float32Array {
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
  const out = levelStep(config, params, sashimiLevels(config), stagesByLevel(config), 0, x, state.time, state, batch);
  state.time++;
  const normed = rmsNorm(out, required(params, FINAL_NORM), config.rmsNormEps, batch, D);
  return linearWithBias(normed, batch, D, required(params, HEAD), new Float32Array(V), V);
}

/**
 * The generator loop on the CPU for SaShiMi models, with the semantics of the flat
 * ReferenceGenerator: the logits of the last consumed code stay pending, and generate()
 * samples from them with draws numbered by the samples generated since reset().
 */
export class ReferenceSashimiGenerator {
  state: SashimiState;
  pendingLogits: Float32Array | null = null;
  private generated = 0;

  constructor(
    readonly config: ModelConfig,
    readonly params: ParameterMap,
    readonly batch: number,
  ) {
    this.state = createSashimiState(config, batch);
  }

  reset(): void {
    this.state = createSashimiState(this.config, this.batch);
    this.pendingLogits = null;
    this.generated = 0;
  }

  /** Feeds one code per stream and returns the logits (B, V). */
  step(codes: ArrayLike<number>): Float32Array {
    if (codes.length !== this.batch) throw new RangeError(`step: ${codes.length} codes for a batch of ${this.batch}`);
    this.pendingLogits = sashimiStep(this.config, this.params, codes, this.state);
    return this.pendingLogits;
  }

  /** Generates `samples` codes per stream and returns them time-major (samples, B). */
  generate(options: { samples: number; temperature: number; topP: number; seed: number; startCode?: number }): Uint32Array {
    validateSampling(options);
    const V = this.config.vocabSize;
    if (!this.pendingLogits) this.step(new Array(this.batch).fill(options.startCode ?? Math.floor(V / 2)));
    const codes = new Uint32Array(options.samples * this.batch);
    const next = new Array<number>(this.batch);
    for (let t = 0; t < options.samples; t++) {
      for (let b = 0; b < this.batch; b++) {
        next[b] = sampleLogits(this.pendingLogits!, options, sampleUniform(options.seed, b, this.generated), b * V, V);
        codes[t * this.batch + b] = next[b];
      }
      this.generated++;
      this.step(next);
    }
    return codes;
  }
}
