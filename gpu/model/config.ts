// Model configuration and the parameter list of a Mamba language model over audio codes.
//
// The model predicts the next sample's class from the previous ones:
//   embedding (V, D) -> nLayers x [x + Mamba(RMSNorm(x))] -> RMSNorm -> head (V, D)
// Parameter names follow the state dict of mamba_ssm's MambaLMHeadModel, so checkpoints
// load in PyTorch (state-spaces/mamba) and back. The SaShiMi U-Net backbone (backbone:
// 'sashimi') replaces the flat stack of blocks, as sashimi-config.ts describes.
import { resolveSashimiConfig, sashimiBlocks, sashimiParameterSpecs, type SashimiConfig, type SashimiConfigInput } from './sashimi-config';

export interface ModelConfig {
  /** Classes per sample: 256 for 8-bit mu-law audio; any size for token tasks. */
  vocabSize: number;
  /** Model width D. */
  dModel: number;
  nLayers: number;
  /** SSM state size N per channel. */
  dState: number;
  /** Expansion factor E; the inner width is DI = E * D. */
  expand: number;
  /** Rank R of the delta projection; mamba_ssm's "auto" is ceil(D / 16). */
  dtRank: number;
  /** Causal conv1d width K. */
  dConv: number;
  rmsNormEps: number;
  /**
   * Per layer: true for selective blocks (delta, B, C computed from the input), false for
   * the non-selective ablation, where x_proj has no weight and a learned bias instead, so
   * delta, B and C are the same at every time step.
   */
  selective: boolean[];
  /** Audio models only: the sample rate the model was trained at, in Hz. */
  sampleRateHz: number;
  /** How samples map to classes: 'mu-law' (mu = 255) or 'linear' 8-bit; 'tokens' for non-audio tasks. */
  encoding: 'mu-law' | 'linear' | 'tokens';
  /**
   * The stack between embedding and head. Absent (or 'flat'): nLayers blocks of width dModel.
   * 'sashimi': the U-Net of `sashimi`, whose blocks nLayers and selective then list in
   * forward order (see backboneBlocks).
   */
  backbone?: 'flat' | 'sashimi';
  /** U-Net settings, present exactly when backbone is 'sashimi'. */
  sashimi?: SashimiConfig;
}

export const DEFAULT_CONFIG: ModelConfig = {
  vocabSize: 256,
  dModel: 64,
  nLayers: 8,
  dState: 16,
  expand: 2,
  dtRank: 4,
  dConv: 4,
  rmsNormEps: 1e-5,
  selective: Array(8).fill(true),
  sampleRateHz: 16000,
  encoding: 'mu-law',
};

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Inner width DI = expand * dModel. */
export function innerWidth(config: ModelConfig): number {
  return config.expand * config.dModel;
}

/** A model config as written in JSON: any field may be left out for its default. */
export type ConfigInput = Partial<Omit<ModelConfig, 'dtRank' | 'selective' | 'sashimi'>> & {
  dtRank?: number | 'auto';
  selective?: boolean | boolean[];
  sashimi?: SashimiConfigInput;
};

/**
 * Completes a partial config with defaults ("auto" dtRank = ceil(D / 16), every layer
 * selective) and validates it. Throws ConfigError naming the field and the fix.
 */
export function resolveConfig(partial: ConfigInput): ModelConfig {
  // A misspelled key would otherwise fall back to its default without a word.
  const known = new Set([...Object.keys(DEFAULT_CONFIG), 'backbone', 'sashimi']);
  const unknown = Object.keys(partial).filter((key) => !known.has(key));
  if (unknown.length > 0) {
    throw new ConfigError(`Model config: unknown key ${unknown.map((key) => JSON.stringify(key)).join(', ')}; the known keys are ${[...known].join(', ')}.`);
  }
  if (partial.backbone !== undefined && partial.backbone !== 'flat' && partial.backbone !== 'sashimi') {
    throw new ConfigError(`Model config: backbone = ${JSON.stringify(partial.backbone)}; use "flat" (a stack of blocks) or "sashimi" (the U-Net).`);
  }
  if (partial.backbone === 'sashimi') return resolveSashimiConfig(partial);
  if (partial.sashimi !== undefined) {
    throw new ConfigError('Model config: "sashimi" settings are given, but backbone is not "sashimi"; add "backbone": "sashimi" or remove them.');
  }
  // A flat config keeps no backbone field, so it serialises as it did before the U-Net existed.
  const { backbone: _flat, ...flat } = partial;
  return resolveFlatFields(flat);
}

/**
 * Resolves and validates the fields that every backbone shares, with nLayers and selective
 * describing the blocks in forward order.
 */
export function resolveFlatFields(partial: Omit<ConfigInput, 'backbone' | 'sashimi'>): ModelConfig {
  const merged = { ...DEFAULT_CONFIG, ...partial } as ModelConfig & { dtRank: number | 'auto'; selective: boolean | boolean[] };
  if (partial.dtRank === undefined || partial.dtRank === 'auto') merged.dtRank = Math.ceil(merged.dModel / 16);
  if (partial.selective === undefined) merged.selective = Array(merged.nLayers).fill(true);
  else if (typeof partial.selective === 'boolean') merged.selective = Array(merged.nLayers).fill(partial.selective);
  const config = merged as ModelConfig;

  const positive: Array<keyof ModelConfig> = ['vocabSize', 'dModel', 'nLayers', 'dState', 'expand', 'dtRank', 'dConv', 'sampleRateHz'];
  for (const key of positive) {
    const value = config[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
      throw new ConfigError(`Model config: ${key} = ${JSON.stringify(value)} must be a positive integer.`);
    }
  }
  if (config.dConv > 8) throw new ConfigError(`Model config: dConv = ${config.dConv}; the conv kernels support widths up to 8.`);
  if (config.dState > 256) throw new ConfigError(`Model config: dState = ${config.dState}; the scan supports up to 256.`);
  if (!(config.rmsNormEps > 0)) throw new ConfigError(`Model config: rmsNormEps = ${config.rmsNormEps} must be positive.`);
  if (!Array.isArray(config.selective) || config.selective.length !== config.nLayers) {
    throw new ConfigError(`Model config: selective must list one boolean per layer (${config.nLayers}), got ${JSON.stringify(config.selective)}.`);
  }
  if (!['mu-law', 'linear', 'tokens'].includes(config.encoding)) {
    throw new ConfigError(`Model config: encoding = ${JSON.stringify(config.encoding)}; use "mu-law", "linear" or "tokens".`);
  }
  if (config.encoding !== 'tokens' && config.vocabSize !== 256) {
    throw new ConfigError(`Model config: ${config.encoding} audio uses 256 classes, not vocabSize = ${config.vocabSize}.`);
  }
  return config;
}

export interface ParameterSpec {
  /** mamba_ssm state-dict name, e.g. "backbone.layers.0.mixer.in_proj.weight". */
  name: string;
  /** Shape as PyTorch stores it (conv1d.weight keeps its middle axis of 1). */
  shape: number[];
  /** AdamW applies weight decay to it: matrices only, not A_log, D, biases or norms. */
  decay: boolean;
  /**
   * Index of the block in forward order, or -1 for the embedding, the final norm and the
   * head. SaShiMi pooling layers take the index of the block after them.
   */
  layer: number;
}

/** Names of one flat layer's parameters, by role. */
export function layerParameterNames(layer: number) {
  return blockParameterNames(`backbone.layers.${layer}`);
}

/** Names of the parameters of the block under `prefix` (norm and mamba_ssm mixer), by role. */
export function blockParameterNames(prefix: string) {
  return {
    norm: `${prefix}.norm.weight`,
    inProj: `${prefix}.mixer.in_proj.weight`,
    convWeight: `${prefix}.mixer.conv1d.weight`,
    convBias: `${prefix}.mixer.conv1d.bias`,
    xProjWeight: `${prefix}.mixer.x_proj.weight`,
    xProjBias: `${prefix}.mixer.x_proj.bias`,
    dtProjWeight: `${prefix}.mixer.dt_proj.weight`,
    dtProjBias: `${prefix}.mixer.dt_proj.bias`,
    aLog: `${prefix}.mixer.A_log`,
    D: `${prefix}.mixer.D`,
    outProj: `${prefix}.mixer.out_proj.weight`,
  };
}

export const EMBEDDING = 'backbone.embedding.weight';
export const FINAL_NORM = 'backbone.norm_f.weight';
export const HEAD = 'lm_head.weight';

/** One residual Mamba block of the backbone. */
export interface BackboneBlock {
  /** Position in forward order, 0 .. nLayers - 1, and the `layer` of its ParameterSpecs. */
  index: number;
  /** Parameter name prefix, e.g. "backbone.layers.3" or "backbone.up.0.layers.1". */
  prefix: string;
  /** Width D of its residual stream. */
  dModel: number;
  selective: boolean;
}

/** Lists the nLayers blocks of the backbone in forward order. */
export function backboneBlocks(config: ModelConfig): BackboneBlock[] {
  if (config.backbone === 'sashimi') return sashimiBlocks(config);
  return Array.from({ length: config.nLayers }, (_, index) => ({
    index,
    prefix: `backbone.layers.${index}`,
    dModel: config.dModel,
    selective: config.selective[index],
  }));
}

/** Throws ConfigError when a flat-only component (named by `component`) gets a U-Net config. */
export function requireFlatBackbone(config: ModelConfig, component: string): void {
  if (config.backbone === 'sashimi') {
    throw new ConfigError(`${component} supports only the flat backbone, and this model is a SaShiMi U-Net; use the backbone-aware path (see docs/sashimi.md).`);
  }
}

/** Specs of one block's parameters: width D, inner width expand * D, in mamba_ssm order. */
export function blockParameterSpecs(config: ModelConfig, block: BackboneBlock): ParameterSpec[] {
  const { dState: N, dtRank: R, dConv: K } = config;
  const D = block.dModel;
  const DI = config.expand * D;
  const layer = block.index;
  const names = blockParameterNames(block.prefix);
  const specs: ParameterSpec[] = [
    { name: names.norm, shape: [D], decay: false, layer },
    { name: names.inProj, shape: [2 * DI, D], decay: true, layer },
    { name: names.convWeight, shape: [DI, 1, K], decay: true, layer },
    { name: names.convBias, shape: [DI], decay: false, layer },
  ];
  if (block.selective) specs.push({ name: names.xProjWeight, shape: [R + 2 * N, DI], decay: true, layer });
  else specs.push({ name: names.xProjBias, shape: [R + 2 * N], decay: false, layer });
  specs.push(
    { name: names.dtProjWeight, shape: [DI, R], decay: true, layer },
    { name: names.dtProjBias, shape: [DI], decay: false, layer },
    { name: names.aLog, shape: [DI, N], decay: false, layer },
    { name: names.D, shape: [DI], decay: false, layer },
    { name: names.outProj, shape: [D, DI], decay: true, layer },
  );
  return specs;
}

/** Every parameter of the model, in a fixed order. */
export function parameterSpecs(config: ModelConfig): ParameterSpec[] {
  const { vocabSize: V, dModel: D } = config;
  const specs: ParameterSpec[] = [{ name: EMBEDDING, shape: [V, D], decay: true, layer: -1 }];
  if (config.backbone === 'sashimi') specs.push(...sashimiParameterSpecs(config));
  else for (const block of backboneBlocks(config)) specs.push(...blockParameterSpecs(config, block));
  specs.push({ name: FINAL_NORM, shape: [D], decay: false, layer: -1 }, { name: HEAD, shape: [V, D], decay: true, layer: -1 });
  return specs;
}

export function parameterCount(config: ModelConfig): number {
  return parameterSpecs(config).reduce((sum, spec) => sum + spec.shape.reduce((a, b) => a * b, 1), 0);
}
