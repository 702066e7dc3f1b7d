// Converts the authors' selective_scan_ref cases (channels-first, three B/C layouts) into
// the engine's time-major layout, and converts gradients back, so the CPU reference and
// the GPU kernels can be checked against the oracle vectors.
import type { ScanDims, ScanInputs } from '../../gpu/reference/scan';
import { f32, type OracleTensor } from './oracle';

export interface OracleScanCase {
  name: string;
  dims: { batch: number; dim: number; dstate: number; seqlen: number; groups: number | null };
  layout: { name: string; B: string; C: string };
  args: { delta_softplus: boolean };
  inputs: Record<string, OracleTensor | null>;
  outputs: { out: OracleTensor; last_state?: OracleTensor };
  grads?: Record<string, OracleTensor>;
}

/** Layout of one of B or C in the oracle. */
export type OperandLayout = 'const' | 'var' | 'grouped';

export interface ConvertedCase {
  dims: ScanDims;
  inputs: ScanInputs;
  layoutB: OperandLayout;
  layoutC: OperandLayout;
}

function operandLayout(shape: string): OperandLayout {
  if (shape.startsWith('(dim')) return 'const';
  return shape.includes('groups') ? 'grouped' : 'var';
}

/** (batch, dim, L) channels-first to (L, batch, dim) time-major. */
export function toTimeMajor(data: Float32Array, batch: number, dim: number, L: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let b = 0; b < batch; b++)
    for (let d = 0; d < dim; d++)
      for (let t = 0; t < L; t++) out[(t * batch + b) * dim + d] = data[(b * dim + d) * L + t];
  return out;
}

export function toChannelsFirst(data: Float32Array, batch: number, dim: number, L: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let b = 0; b < batch; b++)
    for (let d = 0; d < dim; d++)
      for (let t = 0; t < L; t++) out[(b * dim + d) * L + t] = data[(t * batch + b) * dim + d];
  return out;
}

/**
 * B or C as a row view with G groups: const (dim, N) needs G = dim groups repeated on
 * every row; var (batch, N, L) has one group, copied into each of G; grouped
 * (batch, groups, N, L) keeps its groups. A case mixing const and var uses G = dim for both.
 */
function rowsOf(tensor: OracleTensor, layout: OperandLayout, batch: number, dim: number, N: number, L: number, G: number): Float32Array {
  const source = f32(tensor);
  const sourceGroups = layout === 'var' ? 1 : G;
  const width = G * N;
  const rows = new Float32Array(L * batch * width);
  for (let t = 0; t < L; t++)
    for (let b = 0; b < batch; b++)
      for (let g = 0; g < G; g++)
        for (let n = 0; n < N; n++) {
          let value: number;
          if (layout === 'const') value = source[g * N + n];
          else value = source[((b * sourceGroups + (g % sourceGroups)) * N + n) * L + t];
          rows[(t * batch + b) * width + g * N + n] = value;
        }
  return rows;
}

/** Sums or reorders a B/C row-view gradient back into the oracle's layout. */
export function rowsBack(rows: Float32Array, layout: OperandLayout, batch: number, dim: number, N: number, L: number, G: number): Float32Array {
  const width = G * N;
  if (layout === 'const') {
    const out = new Float64Array(dim * N);
    for (let r = 0; r < L * batch; r++) for (let i = 0; i < width; i++) out[i] += rows[r * width + i];
    return Float32Array.from(out);
  }
  const sourceGroups = layout === 'var' ? 1 : G;
  const out = new Float64Array(batch * sourceGroups * N * L);
  for (let t = 0; t < L; t++)
    for (let b = 0; b < batch; b++)
      for (let g = 0; g < G; g++)
        for (let n = 0; n < N; n++) {
          out[((b * sourceGroups + (g % sourceGroups)) * N + n) * L + t] += rows[(t * batch + b) * width + g * N + n];
        }
  return Float32Array.from(out);
}

export function convertCase(c: OracleScanCase): ConvertedCase {
  const { batch, dim, dstate: N, seqlen: L } = c.dims;
  const layoutB = operandLayout(c.layout.B);
  const layoutC = operandLayout(c.layout.C);
  const G = layoutB === 'const' || layoutC === 'const' ? dim : c.dims.groups ?? 1;
  const optional = (name: string) => (c.inputs[name] ? f32(c.inputs[name]!) : null);
  const timeMajor = (name: string) => (c.inputs[name] ? toTimeMajor(f32(c.inputs[name]!), batch, dim, L) : null);
  return {
    layoutB,
    layoutC,
    dims: { B: batch, L, DI: dim, N, G },
    inputs: {
      u: timeMajor('u')!,
      delta: timeMajor('delta')!,
      A: f32(c.inputs.A!),
      Bm: { data: rowsOf(c.inputs.B!, layoutB, batch, dim, N, L, G), rowStride: G * N, colOffset: 0 },
      Cm: { data: rowsOf(c.inputs.C!, layoutC, batch, dim, N, L, G), rowStride: G * N, colOffset: 0 },
      D: optional('D'),
      z: timeMajor('z'),
      deltaBias: optional('delta_bias'),
      deltaSoftplus: c.args.delta_softplus,
    },
  };
}
