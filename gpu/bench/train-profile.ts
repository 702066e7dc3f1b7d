// Time per kernel of one training step (forward, cross-entropy, backward, gradient norm,
// AdamW), for finding what to speed up. The step is recorded once, then every recorded
// dispatch and buffer clear is replayed alone and waited for, and the times are summed
// per kernel. Matmuls are listed per shape (m x n x k), which names the layer and pass.
//
//   node --import ./scripts/register.mjs gpu/bench/train-profile.ts [--B 4] [--L 4096]
//
// Replaying one dispatch at a time adds a submit and a wait to each, so the total is a
// little above the time of the step submitted as a whole (TrainBench.step): 9.55 s
// against 9.01 s at B=4 L=4096 on lavapipe.
import type { DispatchOptions, GpuContext, KernelSpec, Tensor } from '../context';
import { resolveConfig, type ModelConfig } from '../model/config';
import * as ops from '../model/ops';
import { createNodeContext } from '../node';
import { DEFAULT_TRAIN_OPTIONS } from '../train/trainer';
import { randomCodes, TrainBench } from './train-bench';

export interface KernelTime {
  /** Kernel label, with m x n x k for matmuls. */
  kernel: string;
  seconds: number;
  dispatches: number;
}

export interface TrainProfile {
  B: number;
  L: number;
  totalSeconds: number;
  /** Slowest first. */
  kernels: KernelTime[];
}

interface Recorded {
  key: string;
  replay: () => void;
}

function matmulShape(options: DispatchOptions): string {
  if (!options.params) return '';
  const view = new DataView(options.params.bytes().buffer);
  return ` ${view.getUint32(0, true)}x${view.getUint32(4, true)}x${view.getUint32(8, true)}`;
}

/**
 * Records what `encode` dispatches instead of running it. GpuContext.dispatch and clear are
 * replaced for the duration of the call and restored after it.
 */
function record(ctx: GpuContext, encode: () => void): Recorded[] {
  const recorded: Recorded[] = [];
  const dispatch = ctx.dispatch;
  const clear = ctx.clear;
  ctx.dispatch = (kernel: KernelSpec, options: DispatchOptions) => {
    const key = kernel.label.startsWith('matmul') ? kernel.label + matmulShape(options) : kernel.label;
    recorded.push({ key, replay: () => dispatch.call(ctx, kernel, options) });
  };
  ctx.clear = (tensor: Tensor) => {
    recorded.push({ key: 'clear', replay: () => clear.call(ctx, tensor) });
  };
  try {
    encode();
  } finally {
    ctx.dispatch = dispatch;
    ctx.clear = clear;
  }
  return recorded;
}

/** Profiles one training step of `config` at B x L on random codes. */
export async function profileTrainStep(ctx: GpuContext, config: ModelConfig, B: number, L: number): Promise<TrainProfile> {
  const bench = new TrainBench(ctx, config);
  const workspace = ops.createWorkspace(ctx);
  const gradStats = ctx.tensor('profile gradient statistics', [3]);
  try {
    // A first step at this shape compiles the kernels and allocates the activations.
    await bench.step(B, L);
    const grads = [...bench.model.grads.values()];
    const codes = randomCodes((L + 1) * B, config.vocabSize, 7);
    const recorded = record(ctx, () => {
      bench.model.encodeForwardBackward(codes.subarray(0, L * B), codes.subarray(B), B);
      ops.gradientNorm(ctx, { grads, maxNorm: DEFAULT_TRAIN_OPTIONS.gradClip, result: gradStats, workspace });
      bench.updateParameters(gradStats);
    });
    await ctx.finish();

    const times = new Map<string, KernelTime>();
    let totalSeconds = 0;
    for (const { key, replay } of recorded) {
      const started = performance.now();
      replay();
      await ctx.finish();
      const seconds = (performance.now() - started) / 1000;
      totalSeconds += seconds;
      const entry = times.get(key) ?? { kernel: key, seconds: 0, dispatches: 0 };
      entry.seconds += seconds;
      entry.dispatches++;
      times.set(key, entry);
    }
    const errors = ctx.takeErrors();
    if (errors.length > 0) throw new Error(`train profile: WebGPU errors: ${errors.join('; ')}`);
    return { B, L, totalSeconds, kernels: [...times.values()].sort((a, b) => b.seconds - a.seconds) };
  } finally {
    ctx.release(gradStats);
    workspace.destroy();
    bench.destroy();
  }
}

export function formatTrainProfile(profile: TrainProfile): string {
  const lines = profile.kernels.map(
    ({ kernel, seconds, dispatches }) =>
      `${kernel.padEnd(60)} ${seconds.toFixed(3).padStart(8)} s ${((100 * seconds) / profile.totalSeconds).toFixed(1).padStart(5)}%  ${dispatches} dispatches`,
  );
  const tokens = profile.B * profile.L;
  lines.push(`total ${profile.totalSeconds.toFixed(2)} s for B=${profile.B} L=${profile.L}: ${(tokens / profile.totalSeconds).toFixed(0)} tokens/s`);
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const option = (name: string, fallback: number) => {
    const index = process.argv.indexOf(`--${name}`);
    return index >= 0 ? Number(process.argv[index + 1]) : fallback;
  };
  const config = resolveConfig({ dModel: 64, nLayers: 8, dState: 16, expand: 2 });
  const ctx = await createNodeContext();
  console.log(`adapter: ${ctx.info.adapterName}`);
  console.log(formatTrainProfile(await profileTrainStep(ctx, config, option('B', 4), option('L', 4096))));
  ctx.destroy();
}
