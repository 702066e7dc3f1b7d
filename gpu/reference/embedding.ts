// CPU reference of the embedding lookup and its gradient (a scatter-add by code).

/** Returns out (rows, dim) with out[r] = table[codes[r]] for codes < V and zero rows otherwise. */
export function embeddingRef(codes: Uint32Array, table: Float32Array, dim: number, vocabulary: number): Float32Array {
  const out = new Float32Array(codes.length * dim);
  codes.forEach((code, r) => {
    if (code < vocabulary) out.set(table.subarray(code * dim, (code + 1) * dim), r * dim);
  });
  return out;
}

/** Returns dTable (V, dim) with dTable[v] = sum of dOut[r] over rows with codes[r] = v, in float64. */
export function embeddingBackwardRef(codes: Uint32Array, dOut: Float32Array, dim: number, vocabulary: number): Float32Array {
  const sums = new Float64Array(vocabulary * dim);
  codes.forEach((code, r) => {
    if (code >= vocabulary) return;
    for (let d = 0; d < dim; d++) sums[code * dim + d] += dOut[r * dim + d];
  });
  return Float32Array.from(sums);
}
