// Parameter initialisation as mamba_ssm does it (Mamba.__init__ and _init_weights of
// state-spaces/mamba), on the CPU from a seed, so a run can be repeated exactly.
import { backboneBlocks, blockParameterNames, parameterSpecs, EMBEDDING, FINAL_NORM, HEAD, type BackboneBlock, type ModelConfig } from './config';
import { poolParameterNames, poolShapes, sashimiLevels, sashimiStageList, stageBlocks } from './sashimi-config';
import { Rng } from '../util/rng';

/** Parameters by state-dict name, as float32 arrays in PyTorch's row-major layout. */
export type ParameterMap = Map<string, Float32Array>;

function uniform(rng: Rng, length: number, bound: number): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = (2 * rng.uniform() - 1) * bound;
  return out;
}

/** dt_proj.bias: the inverse softplus of dt drawn log-uniform in [dtMin, dtMax], floored at 1e-4. */
export function initDtBias(rng: Rng, channels: number, dtMin = 1e-3, dtMax = 0.1, floor = 1e-4): Float32Array {
  const bias = new Float32Array(channels);
  for (let d = 0; d < channels; d++) {
    const dt = Math.max(floor, Math.exp(rng.uniform() * (Math.log(dtMax) - Math.log(dtMin)) + Math.log(dtMin)));
    // softplus^-1(dt) = dt + log(1 - exp(-dt)) = dt + log(-expm1(-dt))
    bias[d] = dt + Math.log(-Math.expm1(-dt));
  }
  return bias;
}

/**
 * Initialises every parameter:
 * - embedding: normal(0, 0.02); linear layers and conv1d: PyTorch's default uniform(+-1/sqrt(fan_in));
 * - out_proj additionally divided by sqrt(nLayers), as mamba_ssm rescales residual outputs;
 * - dt_proj.weight uniform(+-R^-0.5); dt_proj.bias as initDtBias;
 * - A_log[d, n] = log(n + 1) (S4D-real); D = 1; norm weights = 1;
 * - non-selective layers: x_proj.bias uniform(+-1), standing in for the input-dependent rows;
 * - SaShiMi pooling linears: weight and bias uniform(+-1/sqrt(fan_in)).
 */
export function initParameters(config: ModelConfig, seed: number): ParameterMap {
  const rng = new Rng(seed);
  const { dModel: D, vocabSize: V } = config;
  const params: ParameterMap = new Map();

  const embedding = new Float32Array(V * D);
  for (let i = 0; i < embedding.length; i++) embedding[i] = rng.normal(0, 0.02);
  params.set(EMBEDDING, embedding);

  if (config.backbone === 'sashimi') initSashimiBackbone(rng, config, params);
  else for (const block of backboneBlocks(config)) initBlock(rng, config, block, params);

  params.set(FINAL_NORM, new Float32Array(D).fill(1));
  params.set(HEAD, uniform(rng, V * D, 1 / Math.sqrt(D)));

  // Every spec must have been filled, with the right size.
  for (const spec of parameterSpecs(config)) {
    const values = params.get(spec.name);
    const expected = spec.shape.reduce((a, b) => a * b, 1);
    if (!values || values.length !== expected) throw new Error(`initParameters: ${spec.name} missing or of the wrong size`);
  }
  return params;
}

/** Initialises one residual block of width block.dModel, with out_proj divided by sqrt(nLayers). */
function initBlock(rng: Rng, config: ModelConfig, block: BackboneBlock, params: ParameterMap): void {
  const { dState: N, dtRank: R, dConv: K } = config;
  const D = block.dModel;
  const DI = config.expand * D;
  const names = blockParameterNames(block.prefix);
  params.set(names.norm, new Float32Array(D).fill(1));
  params.set(names.inProj, uniform(rng, 2 * DI * D, 1 / Math.sqrt(D)));
  params.set(names.convWeight, uniform(rng, DI * K, 1 / Math.sqrt(K)));
  params.set(names.convBias, uniform(rng, DI, 1 / Math.sqrt(K)));
  if (block.selective) params.set(names.xProjWeight, uniform(rng, (R + 2 * N) * DI, 1 / Math.sqrt(DI)));
  else params.set(names.xProjBias, uniform(rng, R + 2 * N, 1));
  params.set(names.dtProjWeight, uniform(rng, DI * R, 1 / Math.sqrt(R)));
  params.set(names.dtProjBias, initDtBias(rng, DI));
  const aLog = new Float32Array(DI * N);
  for (let d = 0; d < DI; d++) for (let n = 0; n < N; n++) aLog[d * N + n] = Math.log(n + 1);
  params.set(names.aLog, aLog);
  params.set(names.D, new Float32Array(DI).fill(1));
  const outProj = uniform(rng, D * DI, 1 / Math.sqrt(DI));
  const rescale = 1 / Math.sqrt(config.nLayers);
  for (let i = 0; i < outProj.length; i++) outProj[i] *= rescale;
  params.set(names.outProj, outProj);
}

/** Initialises the U-Net's blocks and pooling linears (weight and bias uniform(+-1/sqrt(fan_in)), as nn.Linear) in forward order. */
function initSashimiBackbone(rng: Rng, config: ModelConfig, params: ParameterMap): void {
  const levels = sashimiLevels(config);
  const initPool = (kind: 'down' | 'up', level: number) => {
    const names = poolParameterNames(kind, level);
    const [out, fanIn] = poolShapes(levels, level)[kind];
    params.set(names.weight, uniform(rng, out * fanIn, 1 / Math.sqrt(fanIn)));
    params.set(names.bias, uniform(rng, out, 1 / Math.sqrt(fanIn)));
  };
  for (const stage of sashimiStageList(config)) {
    if (stage.kind === 'up') initPool('up', stage.level);
    for (const block of stageBlocks(stage)) initBlock(rng, config, block, params);
    if (stage.kind === 'down') initPool('down', stage.level);
  }
}
