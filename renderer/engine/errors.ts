// Engine errors: construction in the worker and the words the UI shows for each code.

import type { EngineError, EngineErrorCode } from './protocol';

/** Default title and advice per code; a specific message from the engine is shown with it. */
export const ENGINE_ERROR_TEXT: Record<EngineErrorCode, { title: string; hint: string }> = {
  'no-webgpu': {
    title: 'WebGPU is not available in this browser',
    hint: 'Use a Chromium-based browser (version 113 or newer). On Linux start it with --enable-unsafe-webgpu; `npm start` does this for you.',
  },
  'no-adapter': {
    title: 'No WebGPU adapter was found',
    hint: 'Update the graphics driver, or on Linux install Mesa\'s Vulkan driver (mesa-vulkan-drivers) and restart the app.',
  },
  'device-lost': {
    title: 'The GPU device was lost',
    hint: 'The driver reset or another program took the GPU. Your clips and checkpoints are kept: press "Restart engine", then resume from the last checkpoint.',
  },
  'out-of-memory': {
    title: 'The GPU ran out of memory',
    hint: 'Lower the batch size or the window length, or close other programs that use the GPU, then try again.',
  },
  'bad-checkpoint': {
    title: 'The checkpoint could not be loaded',
    hint: 'Pick a .safetensors file saved by mamba-audio or exported from mamba_ssm, with the tensor names of its state dict.',
  },
  'no-model': {
    title: 'No model is loaded',
    hint: 'Open a checkpoint with "Open checkpoint…" in the Train view (Ctrl+Shift+O), or load the default model there.',
  },
  busy: {
    title: 'The engine is busy',
    hint: 'Wait for the current training or generation to finish, or stop it first.',
  },
  'invalid-input': {
    title: 'These settings cannot be used',
    hint: 'Change the setting or the selected audio named in the message, then try again.',
  },
  'training-diverged': {
    title: 'Training diverged',
    hint: 'The loss or the gradients became infinite or NaN, so the weights were left unchanged. Lower the learning rate or the gradient clip, then start again from the last checkpoint.',
  },
  'invalid-request': {
    title: 'The engine rejected a request',
    hint: 'This is a bug in the app; please report it with the message below.',
  },
  'engine-unavailable': {
    title: 'The Mamba engine is not available in this build yet',
    hint: 'Training, generation and inspection need the WebGPU engine, which is not connected to the app yet. Opening clips and listening to them works.',
  },
  internal: {
    title: 'The engine failed',
    hint: 'Press "Restart engine". If it happens again, report it with the message below.',
  },
};

export function engineError(code: EngineErrorCode, message: string, hint = ENGINE_ERROR_TEXT[code].hint): EngineError {
  return { code, message, hint };
}

/** Rejection of an engine request, carrying the worker's structured error. */
export class EngineRequestError extends Error {
  constructor(readonly engineError: EngineError) {
    super(engineError.message);
    this.name = 'EngineRequestError';
  }
}

/** Turns anything thrown into an EngineError, keeping a structured one as it is. */
export function toEngineError(error: unknown): EngineError {
  if (error instanceof EngineRequestError) return error.engineError;
  if (isEngineError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof Error && /out of memory/i.test(message)) return engineError('out-of-memory', message);
  return engineError('internal', message);
}

export function isEngineError(value: unknown): value is EngineError {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return typeof record.code === 'string' && record.code in ENGINE_ERROR_TEXT && typeof record.message === 'string' && typeof record.hint === 'string';
}
