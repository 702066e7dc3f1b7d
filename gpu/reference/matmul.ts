// CPU reference of the matmul kernel and the linear layers built on it: float64 sums over
// float32 data, with the same strided views as gpu/kernels/matmul.ts.

/** A row-major matrix inside an array: element (i, j) at colOffset + i * rowStride + j. */
export interface ArrayView {
  data: Float32Array;
  rowStride: number;
  colOffset: number;
}

export function wholeArray(data: Float32Array, cols: number): ArrayView {
  return { data, rowStride: cols, colOffset: 0 };
}

function at(view: ArrayView, row: number, col: number): number {
  return view.data[view.colOffset + row * view.rowStride + col];
}

/**
 * Computes C (+)= A @ B with A (m, k) and B (k, n), either stored transposed, into the c
 * view, and returns c's array.
 */
export function matmulRef(
  m: number,
  n: number,
  k: number,
  a: ArrayView,
  b: ArrayView,
  c: ArrayView,
  options: { transposeA?: boolean; transposeB?: boolean; accumulate?: boolean } = {},
): Float32Array {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let kk = 0; kk < k; kk++) {
        const aValue = options.transposeA ? at(a, kk, i) : at(a, i, kk);
        const bValue = options.transposeB ? at(b, j, kk) : at(b, kk, j);
        sum += aValue * bValue;
      }
      const index = c.colOffset + i * c.rowStride + j;
      c.data[index] = options.accumulate ? c.data[index] + sum : sum;
    }
  }
  return c.data;
}

/** Returns y = x @ W^T (rows, outDim) for x (rows, inDim) and W (outDim, inDim). */
export function linearForwardRef(rows: number, inDim: number, outDim: number, x: ArrayView, weight: Float32Array): Float32Array {
  const y = new Float32Array(rows * outDim);
  return matmulRef(rows, outDim, inDim, x, wholeArray(weight, inDim), wholeArray(y, outDim), { transposeB: true });
}

/** Returns dx = dy @ W (rows, inDim). */
export function linearInputGradRef(rows: number, inDim: number, outDim: number, dy: ArrayView, weight: Float32Array): Float32Array {
  const dx = new Float32Array(rows * inDim);
  return matmulRef(rows, inDim, outDim, dy, wholeArray(weight, inDim), wholeArray(dx, inDim));
}

/** Returns dW = dy^T @ x (outDim, inDim), summed over rows. */
export function linearWeightGradRef(rows: number, inDim: number, outDim: number, dy: ArrayView, x: ArrayView): Float32Array {
  const dWeight = new Float32Array(outDim * inDim);
  return matmulRef(outDim, inDim, rows, dy, x, wholeArray(dWeight, inDim), { transposeA: true });
}
