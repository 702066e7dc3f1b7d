// CPU reference of the time_pool kernel: the re-layout between a time-major sequence and
// its pooled form, which SaShiMi's pooling layers put around their linear layers.
//
//   pool:   (L, B, C) -> (L / p, B, p * C)
//           out[l, b, j * C + c] = in[(l + shift) * p + j, b, c], zero past the end
//   unpool: (L / p, B, p * C) -> (L, B, C)
//           out[l * p + j, b, c] = in[l - shift, b, j * C + c], zero before the start
//
// For the same shift the two are transposes of each other, so each is the other's backward.
// unpool with shift 1 is the causal UpPool: the p steps of pooled step l come out one pooled
// step later.

export type TimePoolDirection = 'pool' | 'unpool';

export interface TimePoolShape {
  /** Sequences. */
  B: number;
  /** Time steps of the unpooled sequence, a multiple of factor. */
  L: number;
  /** Steps per pooled row (p). */
  factor: number;
  /** Channels of the unpooled sequence. */
  C: number;
  /** Pooled steps by which unpool delays (and pool advances): 0 or 1. */
  shift: number;
}

/** Returns the pooled or unpooled copy of `input`, as the time_pool kernel computes it. */
export function timePoolRef(direction: TimePoolDirection, shape: TimePoolShape, input: Float32Array): Float32Array {
  const { B, L, factor: p, C, shift } = shape;
  const Lp = L / p;
  if (!Number.isInteger(Lp)) throw new RangeError(`timePoolRef: L = ${L} is not a multiple of the factor ${p}`);
  if (input.length !== L * B * C) throw new RangeError(`timePoolRef: input has ${input.length} values, expected L * B * C = ${L * B * C}`);
  const out = new Float32Array(L * B * C);
  for (let l = 0; l < Lp; l++) {
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < p; j++) {
        for (let c = 0; c < C; c++) {
          const pooled = (l * B + b) * p * C + j * C + c;
          if (direction === 'pool') {
            const t = (l + shift) * p + j;
            out[pooled] = t < L ? input[(t * B + b) * C + c] : 0;
          } else {
            const source = l - shift;
            out[((l * p + j) * B + b) * C + c] = source >= 0 ? input[(source * B + b) * p * C + j * C + c] : 0;
          }
        }
      }
    }
  }
  return out;
}
