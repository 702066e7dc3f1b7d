// The SaShiMi U-Net backbone with Mamba blocks, the multi-scale audio backbone that the
// Mamba paper uses: its config, validation, block list and parameter names.
//
// Level s = 0 .. S (S = pool.length) runs at width D_s = dModel * widthExpand^s and at one
// step per prod(pool[0..s-1]) samples. For L samples and B sequences (time-major rows):
//
//   x = embedding[code]                                            (L, B, D_0)
//   down stage s < S:  downBlocks residual blocks at width D_s, then skip_s = x
//                      DownPool_s: every p = pool[s] consecutive steps become one row of
//                      p * D_s columns (step-major: column j * D_s + c contains step j,
//                      channel c), then a linear layer with bias to D_{s+1}
//   center (level S):  centerBlocks residual blocks
//   up stage s < S:    UpPool_s: a linear layer with bias from D_{s+1} to p * D_s, each row
//                      split back into p steps and shifted right by one pooled step (the
//                      first p steps get zeros), so the output at sample t depends only on
//                      samples before the pooled step that contains t. Then x += skip_s
//                      and upBlocks residual blocks follow.
//   logits = head(RMSNorm_f(x))                                    (L, B, V)
//
// A residual block is the flat model's x + Mamba(RMSNorm(x)), with inner width expand * D_s.
// dState, dtRank and dConv are the same at every level. With pool = [] the U-Net is a flat
// stack of centerBlocks blocks under other parameter names.
import { ConfigError, innerWidth, resolveFlatFields, blockParameterSpecs, type BackboneBlock, type ConfigInput, type ModelConfig, type ParameterSpec } from './config';

export interface SashimiConfig {
  /** Pooling factor of each down stage, outermost first, e.g. [4, 4], each at least 2. */
  pool: number[];
  /** Width multiplier from one level to the next: D_{s+1} = widthExpand * D_s. */
  widthExpand: number;
  /** Residual Mamba blocks in each down stage, before its DownPool. */
  downBlocks: number;
  /** Residual Mamba blocks at the innermost level. */
  centerBlocks: number;
  /** Residual Mamba blocks in each up stage, after its UpPool and skip connection. */
  upBlocks: number;
  /** Per stage, selective blocks (true) or the non-selective ones (false). down[s] and up[s] are level s. */
  selective: { down: boolean[]; center: boolean; up: boolean[] };
}

/** The `sashimi` object as written in a config file, where every field has a default. */
export interface SashimiConfigInput {
  pool?: number[];
  widthExpand?: number;
  downBlocks?: number;
  centerBlocks?: number;
  upBlocks?: number;
  /** One flag for every stage, or flags per stage. Missing stages take the top-level `selective` flag (default true). */
  selective?: boolean | { down?: boolean | boolean[]; center?: boolean; up?: boolean | boolean[] };
}

export const DEFAULT_SASHIMI = { pool: [4, 4], widthExpand: 2, downBlocks: 2, centerBlocks: 2, upBlocks: 2 } as const;

/** The widest level the engine accepts, so a typo in widthExpand or pool fails early. */
const MAX_LEVEL_WIDTH = 8192;

const SASHIMI_KEYS = ['pool', 'widthExpand', 'downBlocks', 'centerBlocks', 'upBlocks', 'selective'];

function fail(message: string): never {
  throw new ConfigError(`Model config: ${message}`);
}

function integerAtLeast(name: string, value: unknown, min: number, fix: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) fail(`sashimi.${name} = ${JSON.stringify(value)} must be an integer >= ${min}; ${fix}.`);
  return value;
}

function stageFlags(name: string, value: unknown, stages: number, fallback: boolean): boolean[] {
  if (value === undefined) return Array(stages).fill(fallback);
  if (typeof value === 'boolean') return Array(stages).fill(value);
  if (Array.isArray(value) && value.length === stages && value.every((flag) => typeof flag === 'boolean')) return [...value];
  return fail(`sashimi.selective.${name} = ${JSON.stringify(value)}; give one boolean for all ${name} stages or a list of ${stages} booleans, one per pool factor.`);
}

/**
 * Resolves a config whose backbone is 'sashimi': fills the defaults, validates every value
 * and derives nLayers and the per-block selective list. Throws ConfigError naming the
 * value and the fix.
 */
export function resolveSashimiConfig(partial: ConfigInput): ModelConfig {
  const input = partial.sashimi ?? {};
  if (typeof input !== 'object' || input === null || Array.isArray(input)) fail(`sashimi = ${JSON.stringify(input)} must be an object such as {"pool": [4, 4]}.`);
  for (const key of Object.keys(input)) {
    if (!SASHIMI_KEYS.includes(key)) fail(`sashimi.${key} is not a SaShiMi setting; use ${SASHIMI_KEYS.join(', ')}.`);
  }

  const pool = input.pool ?? [...DEFAULT_SASHIMI.pool];
  if (!Array.isArray(pool)) fail(`sashimi.pool = ${JSON.stringify(pool)} must be a list of pooling factors, e.g. [4, 4]; [] gives a flat stack.`);
  pool.forEach((factor, stage) => integerAtLeast(`pool[${stage}]`, factor, 2, 'a factor of 1 does not pool, so remove that stage'));
  const widthExpand = integerAtLeast('widthExpand', input.widthExpand ?? DEFAULT_SASHIMI.widthExpand, 1, 'use 2 to double the width per stage, as SaShiMi does');
  const fix = 'use 0 for none';
  const downBlocks = integerAtLeast('downBlocks', input.downBlocks ?? DEFAULT_SASHIMI.downBlocks, 0, fix);
  const centerBlocks = integerAtLeast('centerBlocks', input.centerBlocks ?? DEFAULT_SASHIMI.centerBlocks, 0, fix);
  const upBlocks = integerAtLeast('upBlocks', input.upBlocks ?? DEFAULT_SASHIMI.upBlocks, 0, fix);
  const S = pool.length;
  const total = S * (downBlocks + upBlocks) + centerBlocks;
  if (total < 1) fail('a sashimi backbone needs at least one Mamba block; set downBlocks, centerBlocks or upBlocks above 0.');

  const fallback = typeof partial.selective === 'boolean' ? partial.selective : true;
  let selective: SashimiConfig['selective'];
  const flags = input.selective;
  if (flags === undefined || typeof flags === 'boolean') {
    const all = flags ?? fallback;
    selective = { down: Array(S).fill(all), center: all, up: Array(S).fill(all) };
  } else if (typeof flags === 'object' && flags !== null && !Array.isArray(flags)) {
    for (const key of Object.keys(flags)) {
      if (!['down', 'center', 'up'].includes(key)) fail(`sashimi.selective.${key} is not a stage; use down, center and up.`);
    }
    if (flags.center !== undefined && typeof flags.center !== 'boolean') fail(`sashimi.selective.center = ${JSON.stringify(flags.center)} must be true or false.`);
    selective = { down: stageFlags('down', flags.down, S, fallback), center: flags.center ?? fallback, up: stageFlags('up', flags.up, S, fallback) };
  } else {
    fail(`sashimi.selective = ${JSON.stringify(flags)}; use true, false or {"down": [...], "center": true, "up": [...]}.`);
  }

  const sashimi: SashimiConfig = { pool: [...pool], widthExpand, downBlocks, centerBlocks, upBlocks, selective };
  const perBlock = sashimiStages(sashimi, 1).flatMap((stage) => Array<boolean>(stage.blockCount).fill(stage.selective));
  if (partial.nLayers !== undefined && partial.nLayers !== total) {
    fail(`nLayers = ${JSON.stringify(partial.nLayers)}, but this sashimi backbone has ${total} blocks (downBlocks, centerBlocks and upBlocks set the count); remove nLayers.`);
  }
  if (Array.isArray(partial.selective) && (partial.selective.length !== total || partial.selective.some((flag, i) => flag !== perBlock[i]))) {
    fail(`selective = ${JSON.stringify(partial.selective)} does not match the stages' flags ${JSON.stringify(perBlock)}; set selectivity per stage in sashimi.selective instead.`);
  }

  const { backbone: _backbone, sashimi: _sashimi, nLayers: _nLayers, selective: _selective, ...shared } = partial;
  const config = resolveFlatFields({ ...shared, nLayers: total, selective: perBlock });
  const widest = config.dModel * widthExpand ** S;
  if (widest > MAX_LEVEL_WIDTH) {
    fail(`the innermost level would be ${widest} wide (dModel ${config.dModel} x widthExpand ${widthExpand}^${S}), over ${MAX_LEVEL_WIDTH}; lower dModel, widthExpand or the number of pool factors.`);
  }
  return { ...config, backbone: 'sashimi', sashimi };
}

/** One level of the U-Net. */
export interface SashimiLevel {
  level: number;
  /** Width D_s of the residual stream. */
  dModel: number;
  /** Pooling factor to the next level, or 0 at the innermost level. */
  pool: number;
  /** Samples per step of this level: the product of the pool factors above it. */
  stride: number;
}

function sashimiOf(config: ModelConfig): SashimiConfig {
  if (config.backbone !== 'sashimi' || !config.sashimi) throw new Error('this function needs a config whose backbone is "sashimi"');
  return config.sashimi;
}

/** Levels 0 .. S, outermost first. */
export function sashimiLevels(config: ModelConfig): SashimiLevel[] {
  const { pool, widthExpand } = sashimiOf(config);
  const levels: SashimiLevel[] = [];
  let stride = 1;
  for (let level = 0; level <= pool.length; level++) {
    levels.push({ level, dModel: config.dModel * widthExpand ** level, pool: pool[level] ?? 0, stride });
    stride *= pool[level] ?? 1;
  }
  return levels;
}

/** Product of the pool factors, which training lengths must be multiples of, or 1 for a flat model. */
export function poolProduct(config: ModelConfig): number {
  if (config.backbone !== 'sashimi' || !config.sashimi) return 1;
  return config.sashimi.pool.reduce((product, factor) => product * factor, 1);
}

/** Throws ConfigError unless the parallel forward can run on L time steps. `fix` is the message's advice to the caller. */
export function checkSequenceLength(config: ModelConfig, L: number, fix = 'use a window length that is a multiple of it'): void {
  const product = poolProduct(config);
  if (L % product !== 0) {
    throw new ConfigError(
      `A SaShiMi model with pool factors [${config.sashimi!.pool}] runs its parallel forward only on multiples of ${product} time steps, ` +
        `and L = ${L} is not one; ${fix} (e.g. ${Math.max(product, Math.round(L / product) * product)}).`,
    );
  }
}

/** A stage: the blocks of one level between two pooling layers, in forward order. */
export interface SashimiStage {
  kind: 'down' | 'center' | 'up';
  level: number;
  dModel: number;
  selective: boolean;
  blockCount: number;
  /** Index (forward order) of its first block. */
  firstBlock: number;
}

function sashimiStages(sashimi: SashimiConfig, dModel: number): SashimiStage[] {
  const S = sashimi.pool.length;
  const width = (level: number) => dModel * sashimi.widthExpand ** level;
  const stages: SashimiStage[] = [];
  let firstBlock = 0;
  const add = (kind: SashimiStage['kind'], level: number, selective: boolean, blockCount: number) => {
    stages.push({ kind, level, dModel: width(level), selective, blockCount, firstBlock });
    firstBlock += blockCount;
  };
  for (let level = 0; level < S; level++) add('down', level, sashimi.selective.down[level], sashimi.downBlocks);
  add('center', S, sashimi.selective.center, sashimi.centerBlocks);
  for (let level = S - 1; level >= 0; level--) add('up', level, sashimi.selective.up[level], sashimi.upBlocks);
  return stages;
}

/** Lists every stage of the U-Net in forward order: down 0 .. S-1, center, up S-1 .. 0. */
export function sashimiStageList(config: ModelConfig): SashimiStage[] {
  return sashimiStages(sashimiOf(config), config.dModel);
}

function stagePrefix(stage: SashimiStage): string {
  return stage.kind === 'center' ? 'backbone.center' : `backbone.${stage.kind}.${stage.level}`;
}

/** Lists the blocks of one stage, with their parameter prefixes. */
export function stageBlocks(stage: SashimiStage): BackboneBlock[] {
  return Array.from({ length: stage.blockCount }, (_, i) => ({
    index: stage.firstBlock + i,
    prefix: `${stagePrefix(stage)}.layers.${i}`,
    dModel: stage.dModel,
    selective: stage.selective,
  }));
}

/** Lists every block of the U-Net in forward order. */
export function sashimiBlocks(config: ModelConfig): BackboneBlock[] {
  return sashimiStageList(config).flatMap(stageBlocks);
}

/** Names of a pooling layer's linear weight and bias. */
export function poolParameterNames(kind: 'down' | 'up', level: number): { weight: string; bias: string } {
  return { weight: `backbone.${kind}.${level}.pool.weight`, bias: `backbone.${kind}.${level}.pool.bias` };
}

/** Shapes (out, in) of the pooling linears of level s, PyTorch's nn.Linear layout. */
export function poolShapes(levels: SashimiLevel[], level: number): { down: [number, number]; up: [number, number] } {
  const { dModel: D, pool: p } = levels[level];
  const inner = levels[level + 1].dModel;
  return { down: [inner, p * D], up: [p * D, inner] };
}

/**
 * Specs of the backbone's parameters in forward order: each down stage's blocks then its
 * DownPool, the center blocks, then each up stage's UpPool then its blocks. A pooling
 * layer's `layer` is the index of the first block after it (nLayers when none follows), so
 * fine-tuning the last blocks also trains the pooling layers between them.
 */
export function sashimiParameterSpecs(config: ModelConfig): ParameterSpec[] {
  const levels = sashimiLevels(config);
  const specs: ParameterSpec[] = [];
  const poolSpecs = (kind: 'down' | 'up', level: number, layer: number) => {
    const names = poolParameterNames(kind, level);
    const shape = poolShapes(levels, level)[kind];
    specs.push({ name: names.weight, shape, decay: true, layer }, { name: names.bias, shape: [shape[0]], decay: false, layer });
  };
  for (const stage of sashimiStageList(config)) {
    if (stage.kind === 'up') poolSpecs('up', stage.level, stage.firstBlock);
    for (const block of stageBlocks(stage)) specs.push(...blockParameterSpecs(config, block));
    if (stage.kind === 'down') poolSpecs('down', stage.level, stage.firstBlock + stage.blockCount);
  }
  return specs;
}

/** A layer of a flat model, or a block of a U-Net, as its selectivity traces see it. */
export interface TracedBlock {
  /** Layer index, or the block's index in forward order. */
  index: number;
  /** "layer 3", or the block's parameter prefix without "backbone.", e.g. "center.layers.0". */
  name: string;
  /** U-Nets only: the block's stage, e.g. "level 1 down". */
  stage?: string;
  /** Channels DI of its traces: expand * D of its level. */
  channels: number;
  /** Samples per step of its level: 1 for a flat model and the top level. */
  stride: number;
}

/** Lists the layers of a flat model, or the blocks of a U-Net in forward order, with their trace shapes. */
export function tracedBlocks(config: ModelConfig): TracedBlock[] {
  if (config.backbone !== 'sashimi') {
    return Array.from({ length: config.nLayers }, (_, index) => ({ index, name: `layer ${index}`, channels: innerWidth(config), stride: 1 }));
  }
  const levels = sashimiLevels(config);
  return sashimiStageList(config).flatMap((stage) =>
    stageBlocks(stage).map((block) => ({
      index: block.index,
      name: block.prefix.replace(/^backbone\./, ''),
      stage: `level ${stage.level} ${stage.kind}`,
      channels: config.expand * block.dModel,
      stride: levels[stage.level].stride,
    })),
  );
}
