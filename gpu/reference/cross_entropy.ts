// CPU reference of cross-entropy with optional row weights, in float64.

export interface CrossEntropyRef {
  rowLoss: Float32Array;
  meanLoss: number;
  dLogits: Float32Array;
}

/**
 * loss[r] = logsumexp(logits[r]) - logits[r, target]; mean = sum(w loss) / sum(w);
 * dLogits = w (softmax - onehot) / sum(w). Targets >= V give zero loss and gradient.
 */
export function crossEntropyRef(rows: number, classes: number, logits: Float32Array, targets: Uint32Array, weights?: Float32Array): CrossEntropyRef {
  const rowLoss = new Float32Array(rows);
  const dLogits = new Float32Array(rows * classes);
  let weightSum = 0;
  for (let r = 0; r < rows; r++) weightSum += weights ? weights[r] : 1;

  let total = 0;
  for (let r = 0; r < rows; r++) {
    const row = logits.subarray(r * classes, (r + 1) * classes);
    let maximum = -Infinity;
    for (const value of row) maximum = Math.max(maximum, value);
    let sum = 0;
    for (const value of row) sum += Math.exp(value - maximum);
    const target = targets[r];
    if (target >= classes) continue;
    const loss = maximum + Math.log(sum) - row[target];
    const weight = weights ? weights[r] : 1;
    rowLoss[r] = loss;
    total += weight * loss;
    for (let j = 0; j < classes; j++) {
      const probability = Math.exp(row[j] - maximum) / sum;
      dLogits[r * classes + j] = (weight * (probability - (j === target ? 1 : 0))) / weightSum;
    }
  }
  return { rowLoss, meanLoss: total / weightSum, dLogits };
}
