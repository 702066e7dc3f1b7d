// Synthetic token tasks from the Mamba paper (Gu and Dao 2023, section 3.1 and appendix
// E.1) that separate selective from time-invariant state space models: Selective Copying
// and Induction Heads. Each generator is seeded and returns batches time-major, row
// r = t * B + b, ready for MambaLM (encoding 'tokens').
//
// Token ids: data tokens are 0 .. dataVocab - 1; the special tokens follow them, so the
// model's vocabSize is dataVocab plus the task's special-token count.
import { Rng } from '../util/rng';

/** Role of a position in a task sequence, for scoring and for the inspector. */
export enum TokenRole {
  /** Selective Copying: a noise token between the tokens to remember. */
  Noise = 0,
  /** Selective Copying: a data token the model must reproduce later. */
  Memorize = 1,
  /** Selective Copying: a marker position, where the model outputs one remembered token. */
  Marker = 2,
  /** Induction Heads: a random data token that carries no answer. */
  Filler = 3,
  /** Induction Heads: the first occurrence of the trigger token. */
  Trigger = 4,
  /** Induction Heads: the data token right after the first trigger, which is the answer. */
  Key = 5,
  /** Induction Heads: the trigger again, at the last position, where the answer is scored. */
  Query = 6,
}

/** Display name of each token role, in the CLI's reports and the Lab view. */
export const ROLE_NAMES: Record<TokenRole, string> = {
  [TokenRole.Noise]: 'noise',
  [TokenRole.Memorize]: 'to remember',
  [TokenRole.Marker]: 'marker',
  [TokenRole.Filler]: 'filler',
  [TokenRole.Trigger]: 'trigger',
  [TokenRole.Key]: 'key',
  [TokenRole.Query]: 'query',
};

/** Roles of each task in display order, the highlighted ones first. */
export const TASK_ROLES: Record<'selective-copying' | 'induction-heads', TokenRole[]> = {
  'selective-copying': [TokenRole.Memorize, TokenRole.Noise, TokenRole.Marker],
  'induction-heads': [TokenRole.Key, TokenRole.Trigger, TokenRole.Filler, TokenRole.Query],
};

/** One batch of task sequences, every array (L, B) time-major. */
export interface TaskBatch {
  B: number;
  L: number;
  inputs: Uint32Array;
  /** Expected output at each position; meaningful only where `weights` is 1. */
  targets: Uint32Array;
  /** 1 at answer positions and 0 elsewhere, the per-position loss weights of MambaLM. */
  weights: Float32Array;
  roles: Uint8Array;
}

export interface SelectiveCopyingOptions {
  /** Tokens before the markers: the data tokens scattered among noise. */
  contextLength: number;
  /** Distinct data tokens. */
  dataVocab: number;
  /** Data tokens to remember per sequence, which is also the number of markers. */
  memorize: number;
}

export interface InductionHeadsOptions {
  /** Tokens per sequence, the final trigger included. */
  length: number;
  /** Distinct data tokens. */
  dataVocab: number;
}

export type TaskOptions = ({ task: 'selective-copying' } & SelectiveCopyingOptions) | ({ task: 'induction-heads' } & InductionHeadsOptions);

/** Token ids of a task, with a short name per id for displays. */
export interface TaskVocabulary {
  /** The model's vocabSize. */
  size: number;
  dataVocab: number;
  /** Display name of each token id: '0'..'V-1' for data tokens, then the special tokens. */
  names: string[];
}

/** Thrown for task sizes that cannot make a valid sequence; the message names the option. */
export class TaskOptionsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TaskOptionsError';
  }
}

function checkInteger(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) throw new TaskOptionsError(`${name} = ${value} must be an integer of at least ${min}.`);
}

/** Validates the sizes of a task; throws TaskOptionsError naming the option. */
export function validateTaskOptions(options: TaskOptions): void {
  checkInteger('dataVocab', options.dataVocab, 2);
  if (options.task === 'selective-copying') {
    checkInteger('memorize', options.memorize, 1);
    checkInteger('contextLength', options.contextLength, 1);
    if (options.memorize > options.contextLength) {
      throw new TaskOptionsError(`memorize = ${options.memorize} tokens do not fit in contextLength = ${options.contextLength}; lower memorize or raise the length.`);
    }
  } else {
    // The first trigger and its key need two positions before the final trigger.
    checkInteger('length', options.length, 3);
  }
}

/** Token ids of Selective Copying: the data tokens, then noise, then the marker. */
export function selectiveCopyingTokens(dataVocab: number) {
  return { noise: dataVocab, marker: dataVocab + 1 };
}

/** Token id of the Induction Heads trigger, right after the data tokens. */
export function inductionTriggerToken(dataVocab: number): number {
  return dataVocab;
}

export function taskVocabulary(options: TaskOptions): TaskVocabulary {
  const names = Array.from({ length: options.dataVocab }, (_, token) => String(token));
  if (options.task === 'selective-copying') names.push('noise', 'marker');
  else names.push('trigger');
  return { size: names.length, dataVocab: options.dataVocab, names };
}

/** Tokens per sequence of the model's input, its L. */
export function sequenceLength(options: TaskOptions): number {
  return options.task === 'selective-copying' ? options.contextLength + options.memorize : options.length;
}

/** Answer positions per sequence: the memorized tokens, or the one induction answer. */
export function answersPerSequence(options: TaskOptions): number {
  return options.task === 'selective-copying' ? options.memorize : 1;
}

function emptyBatch(B: number, L: number): TaskBatch {
  return {
    B,
    L,
    inputs: new Uint32Array(L * B),
    targets: new Uint32Array(L * B),
    weights: new Float32Array(L * B),
    roles: new Uint8Array(L * B),
  };
}

/**
 * Picks `count` distinct positions of [0, range) uniformly, in increasing order
 * (Floyd's sampling, so the cost is O(count log count), not O(range)).
 */
function sortedPositions(rng: Rng, range: number, count: number): number[] {
  const chosen = new Set<number>();
  for (let j = range - count; j < range; j++) {
    const candidate = rng.integer(j + 1);
    chosen.add(chosen.has(candidate) ? j : candidate);
  }
  return [...chosen].sort((a, b) => a - b);
}

/**
 * Selective Copying: `memorize` data tokens at random distinct positions of a context of
 * `contextLength` noise tokens, then `memorize` markers. At the i-th marker the model must
 * output the i-th data token of the context, so only the markers are scored. The spacing
 * changes from sequence to sequence, which a time-invariant model cannot follow.
 */
export function generateSelectiveCopying(options: SelectiveCopyingOptions, B: number, rng: Rng): TaskBatch {
  validateTaskOptions({ task: 'selective-copying', ...options });
  checkInteger('B', B, 1);
  const { contextLength, dataVocab, memorize } = options;
  const { noise, marker } = selectiveCopyingTokens(dataVocab);
  const L = contextLength + memorize;
  const batch = emptyBatch(B, L);

  for (let b = 0; b < B; b++) {
    for (let t = 0; t < contextLength; t++) {
      batch.inputs[t * B + b] = noise;
      batch.roles[t * B + b] = TokenRole.Noise;
    }
    const positions = sortedPositions(rng, contextLength, memorize);
    for (let i = 0; i < memorize; i++) {
      const token = rng.integer(dataVocab);
      const source = positions[i] * B + b;
      batch.inputs[source] = token;
      batch.roles[source] = TokenRole.Memorize;

      const answer = (contextLength + i) * B + b;
      batch.inputs[answer] = marker;
      batch.roles[answer] = TokenRole.Marker;
      batch.targets[answer] = token;
      batch.weights[answer] = 1;
    }
  }
  return batch;
}

/**
 * Induction Heads: random data tokens, a trigger token at one random position followed by
 * the key (a data token), and the trigger again at the last position, where the model must
 * output the key. The trigger occurs nowhere else. Only the last position is scored.
 */
export function generateInductionHeads(options: InductionHeadsOptions, B: number, rng: Rng): TaskBatch {
  validateTaskOptions({ task: 'induction-heads', ...options });
  checkInteger('B', B, 1);
  const { length: L, dataVocab } = options;
  const trigger = inductionTriggerToken(dataVocab);
  const batch = emptyBatch(B, L);

  for (let b = 0; b < B; b++) {
    for (let t = 0; t < L - 1; t++) {
      batch.inputs[t * B + b] = rng.integer(dataVocab);
      batch.roles[t * B + b] = TokenRole.Filler;
    }
    // The first trigger sits anywhere before the final one, leaving room for its key.
    const triggerAt = rng.integer(L - 2);
    const key = batch.inputs[(triggerAt + 1) * B + b];
    batch.inputs[triggerAt * B + b] = trigger;
    batch.roles[triggerAt * B + b] = TokenRole.Trigger;
    batch.roles[(triggerAt + 1) * B + b] = TokenRole.Key;

    const query = (L - 1) * B + b;
    batch.inputs[query] = trigger;
    batch.roles[query] = TokenRole.Query;
    batch.targets[query] = key;
    batch.weights[query] = 1;
  }
  return batch;
}

/** Generates one batch of either task. */
export function generateTaskBatch(options: TaskOptions, B: number, rng: Rng): TaskBatch {
  return options.task === 'selective-copying' ? generateSelectiveCopying(options, B, rng) : generateInductionHeads(options, B, rng);
}
