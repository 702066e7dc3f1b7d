// Checkpoints: model weights as safetensors under mamba_ssm's state-dict names, with the
// model config in the metadata, and optionally the AdamW state in a second safetensors
// file for an exact resume. Pure functions over bytes; writing files atomically is the
// caller's job (Node: cli/files.ts; the app: its platform layer).
import { innerWidth, parameterSpecs, resolveConfig, ConfigError, EMBEDDING, HEAD, type ModelConfig } from './config';
import type { ParameterMap } from './init';
import { decodeSafetensors, encodeSafetensors, type SafetensorsTensor } from './safetensors';

export const CHECKPOINT_FORMAT = 'mamba-audio/1';

/** A checkpoint that cannot be used with this model; names the tensor and the shapes. */
export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}

export interface TrainerState {
  /** Optimizer steps taken. */
  step: number;
  /** Anything else the trainer wants back on resume (JSON-serialisable). */
  [key: string]: unknown;
}

export interface Checkpoint {
  config: ModelConfig;
  params: ParameterMap;
  trainer?: TrainerState;
}

export function encodeCheckpoint(checkpoint: Checkpoint): Uint8Array {
  const tensors = new Map<string, SafetensorsTensor>();
  for (const spec of parameterSpecs(checkpoint.config)) {
    const data = checkpoint.params.get(spec.name);
    if (!data) throw new CheckpointError(`encodeCheckpoint: parameter ${spec.name} is missing`);
    tensors.set(spec.name, { shape: spec.shape, data });
  }
  const metadata: Record<string, string> = {
    format: CHECKPOINT_FORMAT,
    config: JSON.stringify(checkpoint.config),
  };
  if (checkpoint.trainer) metadata.trainer = JSON.stringify(checkpoint.trainer);
  return encodeSafetensors(tensors, metadata);
}

/**
 * Infers the config of a plain mamba_ssm MambaLMHeadModel state dict (no metadata) from
 * its tensor shapes, so weights trained in PyTorch load here.
 */
function inferConfig(tensors: Map<string, SafetensorsTensor>, source: string): ModelConfig {
  const shape = (name: string) => {
    const tensor = tensors.get(name);
    if (!tensor) throw new CheckpointError(`${source}: tensor ${name} is missing, so the model config cannot be inferred`);
    return tensor.shape;
  };
  const [V, D] = shape(EMBEDDING);
  let nLayers = 0;
  while (tensors.has(`backbone.layers.${nLayers}.mixer.A_log`)) nLayers++;
  const [DI, N] = shape('backbone.layers.0.mixer.A_log');
  const [, R] = shape('backbone.layers.0.mixer.dt_proj.weight');
  const K = shape('backbone.layers.0.mixer.conv1d.weight')[2];
  const selective = Array.from({ length: nLayers }, (_, layer) => tensors.has(`backbone.layers.${layer}.mixer.x_proj.weight`));
  return resolveConfig({
    vocabSize: V,
    dModel: D,
    nLayers,
    dState: N,
    expand: DI / D,
    dtRank: R,
    dConv: K,
    selective,
    encoding: V === 256 ? 'mu-law' : 'tokens',
  });
}

/**
 * Parses and validates a checkpoint. Every parameter the config needs must be present with
 * exactly its shape; a head missing from a PyTorch checkpoint with tied embeddings is
 * taken from the embedding. Throws CheckpointError naming the file, tensor and shapes.
 */
export function decodeCheckpoint(bytes: Uint8Array, source: string): Checkpoint {
  const file = decodeSafetensors(bytes, source);
  let config: ModelConfig;
  try {
    config = file.metadata.config ? resolveConfig(JSON.parse(file.metadata.config)) : inferConfig(file.tensors, source);
  } catch (error) {
    if (error instanceof ConfigError || error instanceof SyntaxError) {
      throw new CheckpointError(`${source}: its model config is invalid: ${error.message}`);
    }
    throw error;
  }
  if (!Number.isInteger(innerWidth(config))) throw new CheckpointError(`${source}: d_inner is not a multiple of d_model`);

  const params: ParameterMap = new Map();
  for (const spec of parameterSpecs(config)) {
    let tensor = file.tensors.get(spec.name);
    if (!tensor && spec.name === HEAD) tensor = file.tensors.get(EMBEDDING);
    if (!tensor) throw new CheckpointError(`${source}: tensor ${spec.name} is missing (expected shape [${spec.shape}])`);
    const sameShape = tensor.shape.length === spec.shape.length && tensor.shape.every((dim, i) => dim === spec.shape[i]);
    if (!sameShape) {
      throw new CheckpointError(`${source}: tensor ${spec.name} has shape [${tensor.shape}], but the model config needs [${spec.shape}]`);
    }
    for (let i = 0; i < tensor.data.length; i++) {
      if (!Number.isFinite(tensor.data[i])) {
        throw new CheckpointError(`${source}: tensor ${spec.name} contains a non-finite value at index ${i}; the checkpoint is corrupt`);
      }
    }
    params.set(spec.name, tensor.data);
  }

  let trainer: TrainerState | undefined;
  if (file.metadata.trainer) {
    try {
      trainer = JSON.parse(file.metadata.trainer);
    } catch {
      throw new CheckpointError(`${source}: its trainer state is not valid JSON`);
    }
  }
  return { config, params, trainer };
}

/** AdamW moments by parameter name. */
export interface OptimizerState {
  step: number;
  m: ParameterMap;
  v: ParameterMap;
}

export function encodeOptimizerState(state: OptimizerState): Uint8Array {
  const tensors = new Map<string, SafetensorsTensor>();
  for (const [name, data] of state.m) tensors.set(`exp_avg.${name}`, { shape: [data.length], data });
  for (const [name, data] of state.v) tensors.set(`exp_avg_sq.${name}`, { shape: [data.length], data });
  return encodeSafetensors(tensors, { format: CHECKPOINT_FORMAT, step: String(state.step) });
}

/** Parses optimizer state and checks it matches the model's parameters. */
export function decodeOptimizerState(bytes: Uint8Array, source: string, config: ModelConfig): OptimizerState {
  const file = decodeSafetensors(bytes, source);
  const step = Number(file.metadata.step);
  if (!Number.isInteger(step) || step < 0) throw new CheckpointError(`${source}: optimizer step ${file.metadata.step} is invalid`);
  const m: ParameterMap = new Map();
  const v: ParameterMap = new Map();
  for (const spec of parameterSpecs(config)) {
    const count = spec.shape.reduce((a, b) => a * b, 1);
    for (const [prefix, target] of [['exp_avg', m], ['exp_avg_sq', v]] as const) {
      const tensor = file.tensors.get(`${prefix}.${spec.name}`);
      if (!tensor || tensor.data.length !== count) {
        throw new CheckpointError(
          `${source}: optimizer tensor ${prefix}.${spec.name} ${tensor ? `has ${tensor.data.length} values` : 'is missing'}; the model needs ${count}`,
        );
      }
      target.set(spec.name, tensor.data);
    }
  }
  return { step, m, v };
}
