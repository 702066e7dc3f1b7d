// The interface that training uses for a language model on the GPU, whatever its backbone,
// and the factory that picks the model class from the config.
import type { GpuContext, Tensor } from '../context';
import type { ModelConfig, ParameterSpec } from './config';
import type { ParameterMap } from './init';
import { MambaLM, type LayerTraces } from './lm';
import { SashimiLM } from './sashimi-lm';

export interface StepResult {
  /** Mean cross-entropy in nats per sample, on the GPU until read. */
  loss: Tensor;
}

/** A trainable model: MambaLM (flat stack) or SashimiLM (U-Net). */
export interface LanguageModel {
  readonly config: ModelConfig;
  readonly specs: ParameterSpec[];
  /** Parameters and their gradients on the GPU, by state-dict name. */
  readonly params: Map<string, Tensor>;
  readonly grads: Map<string, Tensor>;
  /** Encodes the forward on codes (L, B), time-major, and with targets also the loss and the logits gradient. */
  encodeForward(inputs: Uint32Array, B: number, targets?: Uint32Array, options?: { targetWeights?: Float32Array }): void;
  /** Encodes forward, loss and backward, with the gradients overwriting `grads`. */
  encodeForwardBackward(inputs: Uint32Array, targets: Uint32Array, B: number, targetWeights?: Float32Array): StepResult;
  readLoss(): Promise<number>;
  readLogits(): Promise<Float32Array>;
  readRowLoss(): Promise<Float32Array>;
  /**
   * Runs the forward on codes (L, B) and returns the selectivity traces of each layer, or
   * of each U-Net block in forward order. Each is (L / stride, B, DI) time-major, where the
   * stride is 1 for a flat model and the block's level stride for a U-Net.
   */
  inspect(inputs: Uint32Array, B: number): Promise<LayerTraces[]>;
  readParameters(): Promise<ParameterMap>;
  writeParameters(values: ParameterMap): void;
  destroy(): void;
}

/** Creates the model class the config's backbone needs, with the given parameter values. */
export function createLanguageModel(ctx: GpuContext, config: ModelConfig, values: ParameterMap): LanguageModel {
  return config.backbone === 'sashimi' ? new SashimiLM(ctx, config, values) : new MambaLM(ctx, config, values);
}
