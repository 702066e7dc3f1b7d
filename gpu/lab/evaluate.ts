// Scoring a lab model on fresh task sequences: exact-match accuracy at the answer
// positions, and the mean step size delta per token role (the numbers behind the
// inspector's heatmap).
import type { LayerTraces, MambaLM } from '../model/lm';
import { Rng } from '../util/rng';
import { generateTaskBatch, sequenceLength, TokenRole, type TaskBatch, type TaskOptions } from './tasks';

export interface AccuracyReport {
  /** Tokens per evaluated sequence (the model's L). */
  length: number;
  sequences: number;
  /** Answer positions scored: sequences times answers per sequence. */
  answers: number;
  /** Fraction of answer positions whose argmax prediction is the target. */
  accuracy: number;
  /** Fraction of sequences with every answer position right. */
  sequenceAccuracy: number;
  /** Accuracy of the i-th answer of each sequence (for Selective Copying, the i-th marker). */
  accuracyByAnswer: number[];
}

/** Argmax over the V logits of each row (L, B, V) -> (L, B). */
export function argmaxRows(logits: Float32Array, V: number): Uint32Array {
  const rows = logits.length / V;
  const predictions = new Uint32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    let bestValue = logits[r * V];
    for (let v = 1; v < V; v++) {
      if (logits[r * V + v] > bestValue) {
        bestValue = logits[r * V + v];
        best = v;
      }
    }
    predictions[r] = best;
  }
  return predictions;
}

export interface BatchScore {
  correct: number;
  answers: number;
  correctSequences: number;
  /** Right answers by their ordinal within a sequence. */
  correctByAnswer: number[];
}

/** Counts right answers of one batch: in all, per whole sequence and per answer ordinal. */
export function scoreBatch(batch: TaskBatch, predictions: Uint32Array): BatchScore {
  const score: BatchScore = { correct: 0, answers: 0, correctSequences: 0, correctByAnswer: [] };
  for (let b = 0; b < batch.B; b++) {
    let allRight = true;
    let ordinal = 0;
    for (let t = 0; t < batch.L; t++) {
      const r = t * batch.B + b;
      if (batch.weights[r] === 0) continue;
      score.answers++;
      score.correctByAnswer[ordinal] ??= 0;
      if (predictions[r] === batch.targets[r]) {
        score.correct++;
        score.correctByAnswer[ordinal]++;
      } else {
        allRight = false;
      }
      ordinal++;
    }
    if (allRight) score.correctSequences++;
  }
  return score;
}

/**
 * Scores the model on `sequences` fresh sequences drawn from `rng`, in batches of at most
 * `batchSize`. Calls `onBatch` after each batch with the sequences done so far.
 */
export async function evaluateAccuracy(
  model: MambaLM,
  task: TaskOptions,
  options: { sequences: number; batchSize: number; rng: Rng; signal?: AbortSignal; onBatch?: (done: number) => void },
): Promise<AccuracyReport> {
  const V = model.config.vocabSize;
  let correct = 0;
  let answers = 0;
  let correctSequences = 0;
  const correctByAnswer: number[] = [];
  let done = 0;
  while (done < options.sequences) {
    if (options.signal?.aborted) break;
    const B = Math.min(options.batchSize, options.sequences - done);
    const batch = generateTaskBatch(task, B, options.rng);
    model.encodeForward(batch.inputs, B);
    const predictions = argmaxRows(await model.readLogits(), V);
    const score = scoreBatch(batch, predictions);
    correct += score.correct;
    answers += score.answers;
    correctSequences += score.correctSequences;
    score.correctByAnswer.forEach((count, ordinal) => {
      correctByAnswer[ordinal] = (correctByAnswer[ordinal] ?? 0) + count;
    });
    done += B;
    options.onBatch?.(done);
  }
  return {
    length: sequenceLength(task),
    sequences: done,
    answers,
    accuracy: answers > 0 ? correct / answers : NaN,
    sequenceAccuracy: done > 0 ? correctSequences / done : NaN,
    accuracyByAnswer: correctByAnswer.map((count) => count / done),
  };
}

/** Mean delta of one layer per token role, over all channels and per channel. */
export interface RoleDeltaSummary {
  layer: number;
  /** Mean delta over every channel and every position of each TokenRole in the batch; absent roles are left out. */
  meanDelta: Partial<Record<TokenRole, number>>;
  /** Mean delta of each channel (DI values) over the positions of each role. */
  channelMeanDelta: Partial<Record<TokenRole, Float32Array>>;
  /** Positions averaged per role. */
  positions: Partial<Record<TokenRole, number>>;
}

/**
 * Averages each layer's delta (L, B, DI) over the positions of each token role of
 * `batch`, per channel and over all channels.
 */
export function summarizeDeltaByRole(traces: LayerTraces[], batch: TaskBatch): RoleDeltaSummary[] {
  const rows = batch.L * batch.B;
  return traces.map((trace, layer) => {
    const DI = trace.delta.length / rows;
    const sums = new Map<TokenRole, Float64Array>();
    const counts = new Map<TokenRole, number>();
    for (let r = 0; r < rows; r++) {
      const role = batch.roles[r] as TokenRole;
      let channelSums = sums.get(role);
      if (!channelSums) {
        channelSums = new Float64Array(DI);
        sums.set(role, channelSums);
      }
      for (let d = 0; d < DI; d++) channelSums[d] += trace.delta[r * DI + d];
      counts.set(role, (counts.get(role) ?? 0) + 1);
    }

    const summary: RoleDeltaSummary = { layer, meanDelta: {}, channelMeanDelta: {}, positions: {} };
    for (const [role, count] of counts) {
      const channelMeans = Float32Array.from(sums.get(role)!, (sum) => sum / count);
      summary.channelMeanDelta[role] = channelMeans;
      summary.meanDelta[role] = channelMeans.reduce((total, value) => total + value, 0) / DI;
      summary.positions[role] = count;
    }
    return summary;
  });
}

/** Mean delta of one layer at and after the positions of an anchor role, against the background. */
export interface DeltaProfile {
  layer: number;
  anchor: TokenRole;
  background: TokenRole;
  /**
   * Entry k: mean delta over channels at the positions k steps after an anchor, k = 0 being
   * the anchor itself. For k >= 1 only background positions count.
   */
  afterAnchor: number[];
  /** Mean delta at background positions more than `afterAnchor.length - 1` steps after every anchor. */
  farBackground: number;
}

/**
 * Profiles delta around each anchor token (a token to remember, or an induction key) over
 * `span` positions. The causal conv1d mixes each token into the next K - 1 positions, so a
 * layer can open delta there rather than at the token itself.
 */
export function profileDeltaAroundRole(traces: LayerTraces[], batch: TaskBatch, anchor: TokenRole, background: TokenRole, span: number): DeltaProfile[] {
  const { B, L } = batch;
  const role = (t: number, b: number) => batch.roles[t * B + b] as TokenRole;
  return traces.map((trace, layer) => {
    const DI = trace.delta.length / (L * B);
    const rowMean = (t: number, b: number) => {
      let sum = 0;
      for (let d = 0; d < DI; d++) sum += trace.delta[(t * B + b) * DI + d];
      return sum / DI;
    };

    const sums = new Array<number>(span).fill(0);
    const counts = new Array<number>(span).fill(0);
    let farSum = 0;
    let farCount = 0;
    for (let b = 0; b < B; b++) {
      let sinceAnchor = Infinity;
      for (let t = 0; t < L; t++) {
        sinceAnchor = role(t, b) === anchor ? 0 : sinceAnchor + 1;
        const counted = sinceAnchor === 0 || role(t, b) === background;
        if (sinceAnchor < span && counted) {
          sums[sinceAnchor] += rowMean(t, b);
          counts[sinceAnchor]++;
        } else if (sinceAnchor >= span && role(t, b) === background) {
          farSum += rowMean(t, b);
          farCount++;
        }
      }
    }
    return {
      layer,
      anchor,
      background,
      afterAnchor: sums.map((sum, k) => (counts[k] > 0 ? sum / counts[k] : NaN)),
      farBackground: farCount > 0 ? farSum / farCount : NaN,
    };
  });
}
