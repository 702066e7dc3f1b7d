// Helpers of the SaShiMi tests. The tiny U-Net of the GPU tests is small enough that
// lavapipe runs it in moments, and has two levels below the top and selective and
// non-selective stages side by side. assertSameState compares two U-Net states.
import assert from 'node:assert/strict';

import { resolveConfig, type ModelConfig } from '../../gpu/model/config';
import type { SashimiState } from '../../gpu/reference/sashimi';
import { assertClose, type Tolerance } from './compare';

/**
 * Returns a token U-Net of width 8 at the top, N 4, dt rank 2 and one block per stage. Down
 * stage 1 and up stage 0 are non-selective, the other stages selective.
 */
export function tinySashimiConfig(pool: number[] = [2, 2]): ModelConfig {
  return resolveConfig({
    backbone: 'sashimi',
    vocabSize: 32,
    encoding: 'tokens',
    dModel: 8,
    dState: 4,
    dtRank: 2,
    sashimi: { pool, downBlocks: 1, centerBlocks: 1, upBlocks: 1, selective: { down: [true, false], center: true, up: [false, true] } },
  });
}

/** Asserts that two U-Net states agree: the time, every block's conv and SSM state, and both pooling buffers of every level. */
export function assertSameState(actual: SashimiState, expected: SashimiState, tolerance: Tolerance, context: string): void {
  assert.equal(actual.time, expected.time, `${context}: time`);
  assert.equal(actual.blocks.length, expected.blocks.length, `${context}: block count`);
  actual.blocks.forEach((block, i) => {
    assertClose(block.conv, expected.blocks[i].conv, tolerance, `${context}: block ${i} conv state`);
    assertClose(block.ssm, expected.blocks[i].ssm, tolerance, `${context}: block ${i} SSM state`);
  });
  assert.equal(actual.down.length, expected.down.length, `${context}: level count`);
  actual.down.forEach((buffer, s) => assertClose(buffer, expected.down[s], tolerance, `${context}: level ${s} down buffer`));
  actual.up.forEach((buffer, s) => assertClose(buffer, expected.up[s], tolerance, `${context}: level ${s} up buffer`));
}
