// Memory check of the training loop: after warm-up, 1,000 optimizer steps of a tiny model
// (MambaLM, global gradient norm, AdamW) must leave the GPU buffers that GpuContext
// accounts for (count and bytes) exactly as they were. A leak of one small buffer per step
// shows up here as 990 extra buffers.
import assert from 'node:assert/strict';

import type { GpuContext } from '../../gpu/context';
import { randomCodes } from '../../gpu/bench/train-bench';
import { resolveConfig } from '../../gpu/model/config';
import { initParameters } from '../../gpu/model/init';
import { MambaLM } from '../../gpu/model/lm';
import * as ops from '../../gpu/model/ops';
import { AdamW, DEFAULT_TRAIN_OPTIONS, trainableParameters } from '../../gpu/train/trainer';
import { gpuTest } from '../support/gpu';

const STEPS = 1000;
const WARM_UP_STEPS = 10;
/** Steps between read-backs; each read-back creates and destroys a staging buffer, as in the Trainer. */
const READ_EVERY = 10;
const B = 2;
const L = 64;

type MemoryStats = ReturnType<GpuContext['memoryStats']>;

gpuTest(
  'training loop memory stays flat',
  async (ctx, t) => {
    const config = resolveConfig({ dModel: 16, nLayers: 2, dState: 16, expand: 2 });
    const model = new MambaLM(ctx, config, initParameters(config, 3));
    const trainable = trainableParameters(model, 'all');
    const optimizer = new AdamW(ctx, model, trainable);
    const grads = [...trainable].map((name) => model.grads.get(name)!);
    const gradStats = ctx.tensor('gradient statistics', [3]);
    const workspace = ops.createWorkspace(ctx);

    // A fixed batch: the loss must fall, which shows the steps really update the weights.
    const codes = randomCodes((L + 1) * B, config.vocabSize, 11);
    const inputs = codes.subarray(0, L * B);
    const targets = codes.subarray(B, (L + 1) * B);

    const started = performance.now();
    const snapshots = new Map<number, MemoryStats>();
    let firstLoss = NaN;
    let lastLoss = NaN;
    for (let step = 1; step <= STEPS; step++) {
      const result = model.encodeForwardBackward(inputs, targets, B);
      ops.gradientNorm(ctx, { grads, maxNorm: DEFAULT_TRAIN_OPTIONS.gradClip, result: gradStats, workspace });
      optimizer.encodeUpdate(DEFAULT_TRAIN_OPTIONS, 1e-3, { tensor: gradStats, index: 1 });
      ctx.submit();

      if (step % READ_EVERY === 0) {
        const [gradNorm, , nonFinite] = await ctx.read(gradStats);
        const [loss] = await ctx.read(result.loss);
        assert.ok(Number.isFinite(gradNorm), `step ${step}: gradient norm ${gradNorm}`);
        assert.equal(nonFinite, 0, `step ${step}: non-finite gradient flag`);
        assert.ok(Number.isFinite(loss), `step ${step}: loss ${loss}`);
        if (step === WARM_UP_STEPS) firstLoss = loss;
        lastLoss = loss;
      }
      if (step === WARM_UP_STEPS || step % 100 === 0) {
        await ctx.finish();
        snapshots.set(step, ctx.memoryStats());
      }
    }
    const elapsedSec = (performance.now() - started) / 1000;

    const warm = snapshots.get(WARM_UP_STEPS)!;
    assert.ok(warm.buffers > 0, 'the model allocated no buffers');
    for (const [step, stats] of snapshots) {
      assert.equal(stats.buffers, warm.buffers, `live buffers at step ${step} vs step ${WARM_UP_STEPS}`);
      assert.equal(stats.bytes, warm.bytes, `live bytes at step ${step} vs step ${WARM_UP_STEPS}`);
    }
    assert.ok(lastLoss < firstLoss, `loss did not fall over ${STEPS} steps: ${firstLoss} -> ${lastLoss}`);

    t.diagnostic(`${STEPS} steps in ${elapsedSec.toFixed(1)} s; ${warm.buffers} live buffers, ${warm.bytes} bytes throughout`);
    optimizer.destroy();
    workspace.destroy();
    model.destroy();
  },
  { timeout: 300_000 },
);
