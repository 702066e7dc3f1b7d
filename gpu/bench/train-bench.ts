// Benchmark of training throughput: one optimizer step as the Trainer runs it (forward,
// cross-entropy, backward, global gradient norm read back, AdamW), timed per step on
// random codes, and the CPU reference forward (reference/model.ts) on the same weights.
// `mamba-audio bench` (cli/commands/bench.ts) runs and prints these.
import type { GpuContext, Tensor } from '../context';
import type { ModelConfig } from '../model/config';
import { initParameters, type ParameterMap } from '../model/init';
import { MambaLM } from '../model/lm';
import * as ops from '../model/ops';
import { modelForwardRef } from '../reference/model';
import { AdamW, DEFAULT_TRAIN_OPTIONS, trainableParameters } from '../train/trainer';

/** Learning rate of the benchmark's steps; the value does not change the work done. */
const BENCH_LR = 1e-3;

/** Codes drawn from a fixed linear congruential sequence, so runs feed the same data. */
export function randomCodes(count: number, vocabSize: number, seed: number): Uint32Array {
  let state = seed >>> 0;
  const codes = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    codes[i] = state % vocabSize;
  }
  return codes;
}

/** A model with AdamW state on the GPU, stepped on batches of any (B, L). */
export class TrainBench {
  readonly model: MambaLM;
  private readonly optimizer: AdamW;
  private readonly gradStats: Tensor;
  private readonly workspace: ops.OpsWorkspace;
  private readonly grads: Tensor[];

  constructor(
    private readonly ctx: GpuContext,
    readonly config: ModelConfig,
    readonly params: ParameterMap = initParameters(config, 1),
  ) {
    this.model = new MambaLM(ctx, config, params);
    const trainable = trainableParameters(this.model, 'all');
    this.optimizer = new AdamW(ctx, this.model, trainable);
    this.grads = [...trainable].map((name) => this.model.grads.get(name)!);
    this.gradStats = ctx.tensor('bench gradient statistics', [3]);
    this.workspace = ops.createWorkspace(ctx);
  }

  private batch(B: number, L: number, seed: number): { inputs: Uint32Array; targets: Uint32Array } {
    const codes = randomCodes((L + 1) * B, this.config.vocabSize, seed);
    // Time-major: row t * B + b; the target of (t, b) is the code at (t + 1, b).
    return { inputs: codes.subarray(0, L * B), targets: codes.subarray(B, (L + 1) * B) };
  }

  /**
   * Runs one training step on B sequences of L random codes and returns its wall time in
   * seconds, from encoding to the end of the AdamW update on the GPU. Like the Trainer, it
   * reads the gradient statistics and the loss back before AdamW runs.
   */
  async step(B: number, L: number, seed = 1): Promise<number> {
    const { inputs, targets } = this.batch(B, L, seed);
    const started = performance.now();
    const result = this.model.encodeForwardBackward(inputs, targets, B);
    ops.gradientNorm(this.ctx, { grads: this.grads, maxNorm: DEFAULT_TRAIN_OPTIONS.gradClip, result: this.gradStats, workspace: this.workspace });
    const [gradNorm, , nonFinite] = await this.ctx.read(this.gradStats);
    const [loss] = await this.ctx.read(result.loss);
    if (nonFinite !== 0 || !Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
      throw new Error(`train benchmark: step at B=${B} L=${L} gave loss ${loss} and gradient norm ${gradNorm}`);
    }
    this.updateParameters(this.gradStats);
    await this.ctx.finish();
    const elapsedSec = (performance.now() - started) / 1000;
    this.checkErrors();
    return elapsedSec;
  }

  /** Encodes one AdamW update of every parameter, scaling the gradients by the clip factor at gradStats[1]. */
  updateParameters(gradStats: Tensor): void {
    this.optimizer.encodeUpdate(DEFAULT_TRAIN_OPTIONS, BENCH_LR, { tensor: gradStats, index: 1 });
  }

  /** Runs the forward pass with the loss only (no backward, no update) and returns its wall time in seconds. */
  async forward(B: number, L: number, seed = 1): Promise<number> {
    const { inputs, targets } = this.batch(B, L, seed);
    const started = performance.now();
    this.model.encodeForward(inputs, B, targets);
    await this.model.readLoss();
    const elapsedSec = (performance.now() - started) / 1000;
    this.checkErrors();
    return elapsedSec;
  }

  private checkErrors(): void {
    const errors = this.ctx.takeErrors();
    if (errors.length > 0) throw new Error(`train benchmark: WebGPU errors: ${errors.join('; ')}`);
  }

  destroy(): void {
    this.optimizer.destroy();
    this.workspace.destroy();
    this.ctx.release(this.gradStats);
    this.model.destroy();
  }
}

/** Wall time in seconds of the CPU reference forward (logits and traces) on one sequence of L codes. */
export function timeReferenceForward(config: ModelConfig, params: ParameterMap, L: number, seed = 1): number {
  const codes = randomCodes(L, config.vocabSize, seed);
  const started = performance.now();
  modelForwardRef(config, params, codes, 1);
  return (performance.now() - started) / 1000;
}
