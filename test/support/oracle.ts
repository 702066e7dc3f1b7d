// Loads the reference vectors produced by the authors' PyTorch code (state-spaces/mamba
// and Dao-AILab/causal-conv1d). They live beside the repository in ../shared/data/oracle;
// MAMBA_AUDIO_SHARED_DATA points elsewhere when needed.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface OracleTensor {
  shape: number[];
  dtype: 'float32';
  data: Array<number | string>;
}

export function sharedDataDir(): string {
  const dir = process.env.MAMBA_AUDIO_SHARED_DATA ?? fileURLToPath(new URL('../../../shared/data', import.meta.url));
  if (!existsSync(dir)) {
    throw new Error(`Shared test data not found at ${dir}. Set MAMBA_AUDIO_SHARED_DATA to the shared/data folder.`);
  }
  return dir;
}

const cache = new Map<string, unknown>();

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function loadOracle(name: string): any {
  if (!cache.has(name)) {
    cache.set(name, JSON.parse(readFileSync(join(sharedDataDir(), 'oracle', name), 'utf8')));
  }
  return cache.get(name);
}

/** The tensor's values as float32, with "NaN" and "Infinity" strings decoded. */
export function f32(tensor: OracleTensor): Float32Array {
  return Float32Array.from(tensor.data, (value) => (typeof value === 'string' ? Number(value) : value));
}
