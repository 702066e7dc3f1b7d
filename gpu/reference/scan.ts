// CPU reference of the selective scan, forward and backward, in the engine's time-major
// layout. Plain loops in float64 over float32 data: slow and obviously correct, the
// yardstick for the WGSL kernels in gpu/kernels/scan_*.wgsl.
//
// Math (as the authors' selective_scan_ref):
//   dt_t   = delta_t + delta_bias            (per channel d)
//   dt_t   = softplus(dt_t) if deltaSoftplus  (softplus(x) = x for x > 20)
//   h_t    = exp(dt_t * A) * h_{t-1} + dt_t * B_t * u_t       h_{-1} = h0 (zeros by default)
//   y_t    = C_t . h_t + D * u_t
//   out_t  = y_t * silu(z_t)                  when z is given
// A uses zero-order hold (exp) and B the Euler rule (dt * B), as the reference does.
//
// Layouts (see gpu/README.md): u, delta, z, out are (L, B, DI); A is (DI, N); h is
// (B, DI, N). B and C are read from a strided matrix view with one row per token: group g
// of channel d = g * DI / G has its N values at columns colOffset + g * N + n. Mamba's
// x_proj output [dt | B | C] is such a view with G = 1.

export interface ScanDims {
  /** Batch size. */
  B: number;
  /** Time steps. */
  L: number;
  /** Channels (d_inner). */
  DI: number;
  /** State size per channel (d_state). */
  N: number;
  /** Groups of channels sharing B and C; 1 for Mamba. */
  G: number;
}

/** A matrix with one row per token (row r = t * B + b) read at a column offset. */
export interface RowView {
  data: Float32Array;
  rowStride: number;
  colOffset: number;
}

export interface ScanInputs {
  u: Float32Array;
  delta: Float32Array;
  A: Float32Array;
  Bm: RowView;
  Cm: RowView;
  D?: Float32Array | null;
  z?: Float32Array | null;
  deltaBias?: Float32Array | null;
  deltaSoftplus: boolean;
  /** Initial state (B, DI, N); zeros when absent. */
  h0?: Float32Array | null;
}

export interface ScanOutputs {
  out: Float32Array;
  /** State after the last step, (B, DI, N). */
  hLast: Float32Array;
  /** L2 norm of every state h_t over n, (L, B, DI): what the selectivity inspector shows. */
  stateNorms: Float32Array;
}

export interface ScanGrads {
  du: Float32Array;
  /** Gradient with respect to the delta input, before bias and softplus. */
  ddelta: Float32Array;
  dA: Float32Array;
  /** Gradients of the B and C views, same layout and shape as the views' data. */
  dB: Float32Array;
  dC: Float32Array;
  dD: Float32Array;
  dz: Float32Array;
  ddeltaBias: Float32Array;
}

export function softplusRef(x: number): number {
  return x > 20 ? x : Math.log1p(Math.exp(x));
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

export function checkScanDims(dims: ScanDims): void {
  const { B, L, DI, N, G } = dims;
  for (const [name, value] of Object.entries(dims)) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`scan: ${name} = ${value} must be a positive integer`);
  }
  if (DI % G !== 0) throw new Error(`scan: DI = ${DI} is not a multiple of G = ${G}`);
  void B;
  void L;
  void N;
}

/** Effective step size dt (after bias and softplus) for one token and channel. */
function stepSize(inputs: ScanInputs, index: number, d: number): number {
  let dt = inputs.delta[index] + (inputs.deltaBias ? inputs.deltaBias[d] : 0);
  if (inputs.deltaSoftplus) dt = softplusRef(dt);
  return dt;
}

export function selectiveScanRef(dims: ScanDims, inputs: ScanInputs): ScanOutputs {
  checkScanDims(dims);
  const { B, L, DI, N, G } = dims;
  const channelsPerGroup = DI / G;
  const out = new Float32Array(L * B * DI);
  const hLast = new Float32Array(B * DI * N);
  const stateNorms = new Float32Array(L * B * DI);
  const h = new Float64Array(N);

  for (let b = 0; b < B; b++) {
    for (let d = 0; d < DI; d++) {
      const g = Math.floor(d / channelsPerGroup);
      for (let n = 0; n < N; n++) h[n] = inputs.h0 ? inputs.h0[(b * DI + d) * N + n] : 0;

      for (let t = 0; t < L; t++) {
        const row = t * B + b;
        const index = row * DI + d;
        const dt = stepSize(inputs, index, d);
        const u = inputs.u[index];
        const bBase = row * inputs.Bm.rowStride + inputs.Bm.colOffset + g * N;
        const cBase = row * inputs.Cm.rowStride + inputs.Cm.colOffset + g * N;

        let y = 0;
        let squares = 0;
        for (let n = 0; n < N; n++) {
          h[n] = Math.exp(dt * inputs.A[d * N + n]) * h[n] + dt * inputs.Bm.data[bBase + n] * u;
          y += inputs.Cm.data[cBase + n] * h[n];
          squares += h[n] * h[n];
        }
        stateNorms[index] = Math.sqrt(squares);
        if (inputs.D) y += inputs.D[d] * u;
        if (inputs.z) y *= inputs.z[index] * sigmoid(inputs.z[index]);
        out[index] = y;
      }
      for (let n = 0; n < N; n++) hLast[(b * DI + d) * N + n] = h[n];
    }
  }
  return { out, hLast, stateNorms };
}

/**
 * Gradients of sum(out * dout) with respect to every input, by reverse-mode
 * differentiation of the recurrence. Keeps all states (L, N) of one channel at a time.
 */
export function selectiveScanBackwardRef(dims: ScanDims, inputs: ScanInputs, dout: Float32Array): ScanGrads {
  checkScanDims(dims);
  const { B, L, DI, N, G } = dims;
  const channelsPerGroup = DI / G;
  const grads: ScanGrads = {
    du: new Float32Array(L * B * DI),
    ddelta: new Float32Array(L * B * DI),
    dA: new Float32Array(DI * N),
    dB: new Float32Array(inputs.Bm.data.length),
    dC: new Float32Array(inputs.Cm.data.length),
    dD: new Float32Array(DI),
    dz: new Float32Array(L * B * DI),
    ddeltaBias: new Float32Array(DI),
  };
  // Float64 accumulators for the sums over tokens and channels.
  const dA = new Float64Array(DI * N);
  const dB = new Float64Array(grads.dB.length);
  const dC = new Float64Array(grads.dC.length);
  const dD = new Float64Array(DI);
  const ddeltaBias = new Float64Array(DI);

  const states = new Float64Array((L + 1) * N);
  const g = new Float64Array(N);

  for (let b = 0; b < B; b++) {
    for (let d = 0; d < DI; d++) {
      const group = Math.floor(d / channelsPerGroup);

      // Forward again, keeping h_t for t = -1..L-1 at states[(t + 1) * N + n].
      for (let n = 0; n < N; n++) states[n] = inputs.h0 ? inputs.h0[(b * DI + d) * N + n] : 0;
      for (let t = 0; t < L; t++) {
        const row = t * B + b;
        const index = row * DI + d;
        const dt = stepSize(inputs, index, d);
        const bBase = row * inputs.Bm.rowStride + inputs.Bm.colOffset + group * N;
        for (let n = 0; n < N; n++) {
          states[(t + 1) * N + n] =
            Math.exp(dt * inputs.A[d * N + n]) * states[t * N + n] + dt * inputs.Bm.data[bBase + n] * inputs.u[index];
        }
      }

      // Backward in time: g is dLoss/dh_t, carried back through exp(dt_{t+1} * A).
      g.fill(0);
      for (let t = L - 1; t >= 0; t--) {
        const row = t * B + b;
        const index = row * DI + d;
        const u = inputs.u[index];
        const rawDt = inputs.delta[index] + (inputs.deltaBias ? inputs.deltaBias[d] : 0);
        const dt = inputs.deltaSoftplus ? softplusRef(rawDt) : rawDt;
        const bBase = row * inputs.Bm.rowStride + inputs.Bm.colOffset + group * N;
        const cBase = row * inputs.Cm.rowStride + inputs.Cm.colOffset + group * N;

        // Gate: out = y * silu(z).
        let y = 0;
        for (let n = 0; n < N; n++) y += inputs.Cm.data[cBase + n] * states[(t + 1) * N + n];
        if (inputs.D) y += inputs.D[d] * u;
        let dy = dout[index];
        if (inputs.z) {
          const z = inputs.z[index];
          const s = sigmoid(z);
          grads.dz[index] = dout[index] * y * s * (1 + z * (1 - s));
          dy = dout[index] * z * s;
        }

        let du = inputs.D ? inputs.D[d] * dy : 0;
        if (inputs.D) dD[d] += dy * u;
        let ddt = 0;
        for (let n = 0; n < N; n++) {
          const a = inputs.A[d * N + n];
          const decay = Math.exp(dt * a);
          const hPrev = states[t * N + n];
          dC[cBase + n] += dy * states[(t + 1) * N + n];
          g[n] += dy * inputs.Cm.data[cBase + n];
          // h_t = decay * h_{t-1} + dt * B * u
          ddt += g[n] * (decay * a * hPrev + inputs.Bm.data[bBase + n] * u);
          dA[d * N + n] += g[n] * decay * dt * hPrev;
          dB[bBase + n] += g[n] * dt * u;
          du += g[n] * dt * inputs.Bm.data[bBase + n];
          g[n] *= decay;
        }
        // softplus'(x) = sigmoid(x), and 1 above the threshold where softplus is the identity.
        let dRaw = ddt;
        if (inputs.deltaSoftplus && rawDt <= 20) dRaw = ddt * sigmoid(rawDt);
        grads.du[index] = du;
        grads.ddelta[index] = dRaw;
        ddeltaBias[d] += dRaw;
      }
    }
  }

  grads.dA.set(dA);
  grads.dB.set(dB);
  grads.dC.set(dC);
  grads.dD.set(dD);
  grads.ddeltaBias.set(ddeltaBias);
  return grads;
}
