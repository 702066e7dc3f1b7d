// Maps errors thrown by the engine in gpu/ to the EngineError codes the UI explains.

import { DeviceLostError, ShapeError } from '../../gpu/context';
import { CheckpointError } from '../../gpu/model/checkpoint';
import { ConfigError } from '../../gpu/model/config';
import { SafetensorsError } from '../../gpu/model/safetensors';
import { DataError } from '../../gpu/train/data';
import { TrainingDivergedError } from '../../gpu/train/trainer';
import { engineError, isEngineError, toEngineError } from './errors';
import type { EngineError } from './protocol';

/** Messages of ShapeError that mean "too large for this device", not a programming error. */
const TOO_LARGE = /maxBufferSize|maxStorageBufferBindingSize|binding limit|overflows 32-bit/;

export function backendError(error: unknown): EngineError {
  if (isEngineError(error)) return error;
  if (error instanceof DeviceLostError) return engineError('device-lost', error.message);
  if (error instanceof CheckpointError || error instanceof SafetensorsError || error instanceof ConfigError) {
    return engineError('bad-checkpoint', error.message);
  }
  if (error instanceof TrainingDivergedError) return engineError('training-diverged', error.message);
  if (error instanceof DataError) return engineError('invalid-input', error.message);
  if (error instanceof ShapeError && TOO_LARGE.test(error.message)) return engineError('out-of-memory', error.message);
  return toEngineError(error);
}

/**
 * Runs `body` inside an out-of-memory error scope, so a failed allocation becomes an
 * 'out-of-memory' EngineError instead of an uncaptured error and invalid buffers later.
 * Running out of memory also explains any exception the body threw, so it wins over it.
 */
export async function withMemoryScope<T>(device: GPUDevice, what: string, body: () => T | Promise<T>): Promise<T> {
  device.pushErrorScope('out-of-memory');
  let outcome: { ok: true; value: T } | { ok: false; error: unknown };
  try {
    outcome = { ok: true, value: await body() };
  } catch (error) {
    outcome = { ok: false, error };
  }
  const gpuError = await device.popErrorScope();
  if (gpuError) throw engineError('out-of-memory', `The GPU ran out of memory while ${what}: ${gpuError.message}`);
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}
