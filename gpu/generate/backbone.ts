// The generator for any backbone: the fused kernel of generator.ts for flat stacks, the
// per-kernel SashimiGenerator for U-Nets. Both have the semantics documented in generator.ts.
import type { GpuContext } from '../context';
import type { ModelConfig } from '../model/config';
import type { ParameterMap } from '../model/init';
import { createGenerator, type GenerateOptions, type GenerateResult, type GeneratorOptions } from './generator';
import { SashimiGenerator } from './sashimi-generator';

/** The interface of both generators. */
export interface BackboneGenerator {
  readonly config: ModelConfig;
  readonly batch: number;
  /** Zeroes every state, so the next generate() starts by feeding startCode. */
  reset(): void;
  /** Feeds codes (L, B) time-major, index t * B + b, and returns their logits (L, B, V). */
  step(inputCodes: ArrayLike<number>): Promise<Float32Array>;
  generate(options: GenerateOptions): Promise<GenerateResult>;
  /** Compiles the kernels now (lavapipe compiles at first use) and returns the milliseconds taken. */
  warmUp(): Promise<number>;
  destroy(): void;
}

/**
 * Creates the generator the config's backbone needs. SaShiMi models ignore the flat
 * kernel's tuning options (subgroups, streamsPerWorkgroup, maxStepsPerDispatch).
 */
export function createBackboneGenerator(ctx: GpuContext, config: ModelConfig, params: ParameterMap, options: GeneratorOptions): BackboneGenerator {
  if (config.backbone === 'sashimi') return new SashimiGenerator(ctx, config, params, options.batch);
  return createGenerator(ctx, config, params, options);
}
