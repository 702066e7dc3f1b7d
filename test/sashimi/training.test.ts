// A short training run of a SaShiMi model through the Trainer, and the window check.
import { gpuTest } from '../support/gpu';
import assert from 'node:assert/strict';
import { describe } from 'node:test';

import { ConfigError, resolveConfig } from '../../gpu/model/config';
import { initParameters } from '../../gpu/model/init';
import { createLanguageModel } from '../../gpu/model/language-model';
import { DEFAULT_TRAIN_OPTIONS, Trainer, type TrainOptions } from '../../gpu/train/trainer';
import { Rng } from '../../gpu/util/rng';

const config = resolveConfig({
  backbone: 'sashimi',
  vocabSize: 16,
  encoding: 'tokens',
  dModel: 16,
  dState: 4,
  sashimi: { pool: [2, 2], downBlocks: 1, centerBlocks: 1, upBlocks: 1, selective: { center: false } },
});

/** Returns codes that cycle through 0..11, with every fifth code replaced by noise. */
function patternClip(length: number, seed: number): Uint8Array {
  const rng = new Rng(seed);
  return Uint8Array.from({ length }, (_, t) => (t % 5 === 4 ? rng.integer(16) : t % 12));
}

describe('SaShiMi training', () => {
  gpuTest('held-out loss falls', async (ctx) => {
    const model = createLanguageModel(ctx, config, initParameters(config, 2));
    const options: TrainOptions = { ...DEFAULT_TRAIN_OPTIONS, windowSamples: 32, batchSize: 4, steps: 40, warmupSteps: 4, peakLr: 1e-2, minLr: 1e-3, evalEvery: 0, evalWindows: 4, checkpointEvery: 0 };
    const trainer = new Trainer(ctx, model, { train: [{ name: 'train', codes: patternClip(4000, 1) }], heldOut: [{ name: 'held out', codes: patternClip(600, 2) }] }, options);
    let saved = 0;
    const summary = await trainer.run({
      saveCheckpoint: async ({ model: current }) => {
        const values = await current.readParameters();
        assert.ok(values.has('backbone.up.1.pool.weight'));
        saved++;
      },
    });
    assert.equal(summary.stepsRun, 40);
    assert.equal(summary.skippedSteps, 0);
    assert.equal(saved, 2, 'a checkpoint at the start and at the end');
    assert.ok(
      summary.finalValidationBits < summary.initialValidationBits - 1,
      `held-out loss ${summary.initialValidationBits.toFixed(3)} -> ${summary.finalValidationBits.toFixed(3)} bits per sample`,
    );
    // Below the unigram entropy: the model uses the context, which only the pattern explains.
    assert.ok(summary.finalValidationBits < summary.unigramBits - 1, `held-out ${summary.finalValidationBits.toFixed(3)} bits, unigram ${summary.unigramBits.toFixed(3)} bits`);
    trainer.destroy();
    model.destroy();
  });

  gpuTest('window off the pool grid is rejected', async (ctx) => {
    const model = createLanguageModel(ctx, config, initParameters(config, 2));
    const clip = { name: 'clip', codes: patternClip(500, 1) };
    assert.throws(
      () => new Trainer(ctx, model, { train: [clip], heldOut: [clip] }, { ...DEFAULT_TRAIN_OPTIONS, windowSamples: 30, batchSize: 2 }),
      (error: Error) => error instanceof ConfigError && /multiples of 4 time steps, and L = 30 is not one; use a training window \(windowSamples, --window\)/.test(error.message),
    );
    model.destroy();
  });
});
