// A tiny Mamba checkpoint made on the CPU for the tests: randomly initialised weights, so
// fine-tuning, generation and inspection finish in seconds on a software adapter. The
// embedded default model is far slower to train there.

import { writeFileSync } from 'node:fs';

import { encodeCheckpoint } from '../../gpu/model/checkpoint';
import { resolveConfig } from '../../gpu/model/config';
import { initParameters } from '../../gpu/model/init';

/** D 16, 2 layers, N 8: about 12,000 parameters. */
export const TINY_MODEL_CONFIG = resolveConfig({ dModel: 16, nLayers: 2, dState: 8, expand: 2 });

/** A SaShiMi U-Net at D 8 with pool factors [2, 2] and one block per stage: 5 blocks. */
export const TINY_UNET_CONFIG = resolveConfig({ backbone: 'sashimi', dModel: 8, dState: 4, sashimi: { pool: [2, 2], downBlocks: 1, centerBlocks: 1, upBlocks: 1 } });

/** Writes the tiny checkpoint (flat, or the config given) to `path` and returns its byte length. */
export function writeTinyCheckpoint(path: string, seed = 7, config = TINY_MODEL_CONFIG): number {
  const bytes = encodeCheckpoint({ config, params: initParameters(config, seed) });
  writeFileSync(path, bytes);
  return bytes.byteLength;
}
