// CPU reference of RMSNorm (mamba_ssm's RMSNorm, eps 1e-5 by default), forward and
// backward, in float64 over float32 data. x is (rows, dim), row-major.

export function rmsNormRef(rows: number, dim: number, x: Float32Array, weight: Float32Array, eps = 1e-5): { y: Float32Array; rstd: Float32Array } {
  const y = new Float32Array(rows * dim);
  const rstd = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let sumSquares = 0;
    for (let j = 0; j < dim; j++) sumSquares += x[r * dim + j] ** 2;
    const inverse = 1 / Math.sqrt(sumSquares / dim + eps);
    rstd[r] = inverse;
    for (let j = 0; j < dim; j++) y[r * dim + j] = x[r * dim + j] * inverse * weight[j];
  }
  return { y, rstd };
}

/**
 * Gradients of sum(y * dy) with respect to x and weight. rstd is recomputed in float64
 * rather than taken from the forward's float32 copy.
 */
export function rmsNormBackwardRef(
  rows: number,
  dim: number,
  x: Float32Array,
  weight: Float32Array,
  dy: Float32Array,
  eps = 1e-5,
): { dx: Float32Array; dWeight: Float32Array } {
  const dx = new Float32Array(rows * dim);
  const dWeight = new Float64Array(dim);
  for (let r = 0; r < rows; r++) {
    let sumSquares = 0;
    for (let j = 0; j < dim; j++) sumSquares += x[r * dim + j] ** 2;
    const inverse = 1 / Math.sqrt(sumSquares / dim + eps);
    let dot = 0;
    for (let j = 0; j < dim; j++) dot += dy[r * dim + j] * weight[j] * x[r * dim + j];
    for (let j = 0; j < dim; j++) {
      const i = r * dim + j;
      dx[i] = inverse * (weight[j] * dy[i] - (x[i] * inverse * inverse * dot) / dim);
      dWeight[j] += dy[i] * x[i] * inverse;
    }
  }
  return { dx, dWeight: Float32Array.from(dWeight) };
}
