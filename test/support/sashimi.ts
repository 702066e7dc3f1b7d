// The tiny U-Net of the SaShiMi GPU tests: small enough that lavapipe runs it in moments,
// with two levels below the top and selective and non-selective stages side by side.
import { resolveConfig, type ModelConfig } from '../../gpu/model/config';

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
