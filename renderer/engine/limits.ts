// Limits that the UI and the engine worker both apply, so the views can tell the user what
// the engine will do with the audio they send.

/**
 * A generation prompt is cut to its last this many seconds before it primes the state. The
 * prompt runs through the recurrent kernel one sample at a time, as fast as generation.
 */
export const MAX_PROMPT_SEC = 2;

/** Returns the part of a prompt that primes the state, its last MAX_PROMPT_SEC seconds, as a view. */
export function promptTail<T extends Uint8Array | Float32Array>(prompt: T, sampleRateHz: number): T {
  const keep = Math.min(prompt.length, Math.round(MAX_PROMPT_SEC * sampleRateHz));
  return prompt.subarray(prompt.length - keep) as T;
}

/** Inspection covers at most this many seconds; longer spans are cut at the end. */
export const MAX_INSPECT_SEC = 10;

/**
 * Samples before an inspected region that prime the model's state. The engine also
 * re-reads this many samples before each segment of a long inspection (inspection-plan.ts).
 */
export const INSPECT_CONTEXT_SAMPLES = 1024;

/**
 * Largest model input of a lab run, in tokens, at the training length. The Lab view draws
 * one column per token, and past about a thousand a column is thinner than a pixel.
 */
export const MAX_LAB_SEQUENCE_LENGTH = 1024;

/** Largest input of a lab evaluation, in tokens: the training length times its largest length factor. */
export const MAX_LAB_EVAL_LENGTH = 65536;

/** Most optimizer steps of one lab run. */
export const MAX_LAB_STEPS = 100_000;
