// The WGSL selective scan (forward and backward) against the CPU reference, on the
// authors' oracle cases and on random shapes that cross chunk boundaries.
import assert from 'node:assert/strict';
import { describe } from 'node:test';

import type { GpuContext, Tensor } from '../../gpu/context';
import { encodeScanBackward, encodeScanForward, encodeScanPack, scanStateSlots, ScanWorkspace, type ScanShape } from '../../gpu/kernels/scan';
import { selectiveScanBackwardRef, selectiveScanRef, type ScanInputs } from '../../gpu/reference/scan';
import { assertClose } from '../support/compare';
import { gpuTest } from '../support/gpu';
import { f32, loadOracle } from '../support/oracle';
import { convertCase, toChannelsFirst, type OracleScanCase } from '../support/scan-cases';
import { Rng } from '../../gpu/util/rng';

/** B and C side by side in one row view, [B | C], as the kernels read them. */
function packXbc(shape: ScanShape, inputs: ScanInputs): Float32Array {
  const width = shape.G * shape.N;
  const rows = shape.L * shape.B;
  const xbc = new Float32Array(rows * 2 * width);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < width; i++) {
      xbc[r * 2 * width + i] = inputs.Bm.data[r * inputs.Bm.rowStride + inputs.Bm.colOffset + i];
      xbc[r * 2 * width + width + i] = inputs.Cm.data[r * inputs.Cm.rowStride + inputs.Cm.colOffset + i];
    }
  }
  return xbc;
}

function packChannel(shape: ScanShape, inputs: ScanInputs): Float32Array {
  const { DI, N } = shape;
  const channel = new Float32Array(DI * (N + 2));
  for (let d = 0; d < DI; d++) {
    for (let n = 0; n < N; n++) channel[d * (N + 2) + n] = inputs.A[d * N + n];
    channel[d * (N + 2) + N] = inputs.D ? inputs.D[d] : 0;
    channel[d * (N + 2) + N + 1] = inputs.deltaBias ? inputs.deltaBias[d] : 0;
  }
  return channel;
}

interface GpuScan {
  out: Float32Array;
  hLast: Float32Array;
  grads?: {
    du: Float32Array;
    ddelta: Float32Array;
    dA: Float32Array;
    dB: Float32Array;
    dC: Float32Array;
    dD: Float32Array;
    dz: Float32Array;
    ddeltaBias: Float32Array;
  };
}

type ForwardKernel = 'auto' | 'portable';

/** Runs the GPU scan on CPU-reference inputs; with `dout`, the backward too. */
async function runGpuScan(ctx: GpuContext, shape: ScanShape, inputs: ScanInputs, dout?: Float32Array, kernel: ForwardKernel = 'auto'): Promise<GpuScan> {
  const { B, L, DI, N, G } = shape;
  const width = G * N;
  const u = ctx.tensor('u', [L, B, DI], inputs.u);
  const delta = ctx.tensor('delta', [L, B, DI], inputs.delta);
  const xbc = ctx.tensor('xbc', [L, B, 2 * width], packXbc(shape, inputs));
  const z = inputs.z ? ctx.tensor('z', [L, B, DI], inputs.z) : null;
  const channel = ctx.tensor('channel', [DI, N + 2], packChannel(shape, inputs));
  const slots = scanStateSlots(ctx, shape, 2 * width);
  const states = ctx.tensor('states', [slots, B, DI, N]);
  const out = ctx.tensor('out', [L, B, DI]);
  const xbcView = { tensor: xbc, rowStride: 2 * width, bOffset: 0, cOffset: width };
  const zView = z ? { tensor: z, rowStride: DI, colOffset: 0 } : null;

  encodeScanForward(ctx, shape, { u, delta, xbc: xbcView, z: zView, channel, states, saveChunkStates: true, out, deltaSoftplus: inputs.deltaSoftplus, kernel });
  const result: GpuScan = {
    out: await ctx.read(out),
    hLast: await ctx.read(states, (slots - 1) * B * DI * N, B * DI * N),
  };
  if (!dout) return result;

  const doutTensor = ctx.tensor('dout', [L, B, DI], dout);
  const du = ctx.tensor('du', [L, B, DI]);
  const ddelta = ctx.tensor('ddelta', [L, B, DI]);
  const dz = ctx.tensor('dz', [L, B, DI]);
  const dxbc = ctx.tensor('dxbc', [L, B, 2 * width]);
  const dA = ctx.tensor('dA', [DI, N]);
  const dD = ctx.tensor('dD', [DI]);
  const dDeltaBias = ctx.tensor('ddelta_bias', [DI]);
  const workspace = new ScanWorkspace(ctx);
  encodeScanBackward(ctx, shape, {
    u,
    delta,
    xbc: xbcView,
    z: zView,
    channel,
    states,
    dout: doutTensor,
    du,
    ddelta,
    dz: z ? { tensor: dz, rowStride: DI, colOffset: 0 } : null,
    dxbc: { tensor: dxbc, rowStride: 2 * width, bOffset: 0, cOffset: width },
    dA,
    wrtALog: false,
    dD,
    dDeltaBias,
    workspace,
    deltaSoftplus: inputs.deltaSoftplus,
  });
  const dxbcData = await ctx.read(dxbc);
  const dB = new Float32Array(L * B * width);
  const dC = new Float32Array(L * B * width);
  for (let r = 0; r < L * B; r++) {
    dB.set(dxbcData.subarray(r * 2 * width, r * 2 * width + width), r * width);
    dC.set(dxbcData.subarray(r * 2 * width + width, (r + 1) * 2 * width), r * width);
  }
  result.grads = {
    du: await ctx.read(du),
    ddelta: await ctx.read(ddelta),
    dA: await ctx.read(dA),
    dB,
    dC,
    dD: await ctx.read(dD),
    dz: await ctx.read(dz),
    ddeltaBias: await ctx.read(dDeltaBias),
  };
  workspace.destroy();
  return result;
}

function randomInputs(rng: Rng, shape: ScanShape, options: { gated: boolean; softplus: boolean }): ScanInputs {
  const { B, L, DI, N, G } = shape;
  const tokens = L * B * DI;
  const A = new Float32Array(DI * N);
  for (let d = 0; d < DI; d++) for (let n = 0; n < N; n++) A[d * N + n] = -(n + 1) * (0.5 + rng.uniform());
  return {
    u: rng.normalArray(tokens),
    delta: rng.normalArray(tokens, options.softplus ? -2 : 0.05, options.softplus ? 1 : 0.02),
    A,
    Bm: { data: rng.normalArray(L * B * G * N), rowStride: G * N, colOffset: 0 },
    Cm: { data: rng.normalArray(L * B * G * N), rowStride: G * N, colOffset: 0 },
    D: rng.normalArray(DI),
    z: options.gated ? rng.normalArray(tokens) : null,
    deltaBias: rng.normalArray(DI, 0, 0.5),
    deltaSoftplus: options.softplus,
  };
}

// WGSL lets exp() err by 3 + 2|x| ulp and lavapipe's measured 1.1e-6 relative (8 ulp), so
// GPU outputs get 1e-5 absolute slack where the CPU reference meets 1e-6 against the oracle.
const SHORT = { rtol: 1e-5, atol: 1e-5 };
const LONG = { rtol: 1e-4, atol: 1e-5 };
const GRAD = { rtol: 1e-4, atol: 1e-5 };

describe('scan forward on the GPU vs the oracle', () => {
  for (const [file, kernel] of [
    ['scan_flags.json', 'auto'],
    ['scan_shapes.json', 'auto'],
    ['scan_long_realistic.json', 'auto'],
    ['scan_flags.json', 'portable'],
    ['scan_shapes.json', 'portable'],
  ] as const) {
    gpuTest(`all cases of ${file}, ${kernel} kernel`, async (ctx) => {
      const cases: OracleScanCase[] = loadOracle(file).cases;
      for (const c of cases) {
        const { dims, inputs } = convertCase(c);
        const tolerance = dims.L > 64 ? LONG : SHORT;
        const gpu = await runGpuScan(ctx, dims, inputs, undefined, kernel);
        assertClose(toChannelsFirst(gpu.out, dims.B, dims.DI, dims.L), f32(c.outputs.out), tolerance, `${c.name} out`);
        if (c.outputs.last_state) assertClose(gpu.hLast, f32(c.outputs.last_state), tolerance, `${c.name} last_state`);
      }
    });
  }
});

describe('scan backward on the GPU vs the CPU reference', () => {
  gpuTest('scan_grads.json cases', async (ctx) => {
    const cases: OracleScanCase[] = loadOracle('scan_grads.json').cases;
    for (const c of cases) {
      const { dims, inputs } = convertCase(c);
      const dout = new Float32Array(dims.L * dims.B * dims.DI);
      const source = f32(c.grads!.dout);
      for (let b = 0; b < dims.B; b++)
        for (let d = 0; d < dims.DI; d++)
          for (let t = 0; t < dims.L; t++) dout[(t * dims.B + b) * dims.DI + d] = source[(b * dims.DI + d) * dims.L + t];
      const expected = selectiveScanBackwardRef(dims, inputs, dout);
      const gpu = await runGpuScan(ctx, dims, inputs, dout);
      for (const key of ['du', 'ddelta', 'dA', 'dB', 'dC', 'dD', 'ddeltaBias'] as const) {
        assertClose(gpu.grads![key], expected[key], GRAD, `${c.name} ${key}`);
      }
      if (inputs.z) assertClose(gpu.grads!.dz, expected.dz, GRAD, `${c.name} dz`);
    }
  });

  const shapes: Array<[string, ScanShape, boolean]> = [
    ['B=1 L=1', { B: 1, L: 1, DI: 8, N: 16, G: 1 }, true],
    ['B=3 L=3, fewer steps than a conv window', { B: 3, L: 3, DI: 5, N: 4, G: 1 }, true],
    ['L=300 crosses one chunk boundary', { B: 2, L: 300, DI: 12, N: 8, G: 1 }, true],
    ['L=700 N=16 no gate', { B: 1, L: 700, DI: 7, N: 16, G: 1 }, false],
    ['grouped G=2, L=517', { B: 2, L: 517, DI: 6, N: 4, G: 2 }, true],
    ['L=4500 spans two forward dispatches', { B: 2, L: 4500, DI: 3, N: 4, G: 1 }, true],
    ['N=5, not a multiple of the broadcast width', { B: 1, L: 70, DI: 4, N: 5, G: 1 }, true],
    ['N=20 needs three loads per lane', { B: 2, L: 70, DI: 4, N: 20, G: 1 }, true],
    ['DI=70, a partly idle workgroup', { B: 2, L: 40, DI: 70, N: 16, G: 1 }, true],
    ['grouped G=2 with 40 channels per group', { B: 1, L: 40, DI: 80, N: 8, G: 2 }, true],
  ];
  for (const [name, shape, gated] of shapes) for (const kernel of ['auto', 'portable'] as const) {
    gpuTest(`random ${name}, ${kernel} kernel`, async (ctx) => {
      const rng = new Rng(shape.L * 31 + shape.DI);
      const inputs = randomInputs(rng, shape, { gated, softplus: true });
      const dout = rng.normalArray(shape.L * shape.B * shape.DI);
      const expected = selectiveScanRef(shape, inputs);
      const expectedGrads = selectiveScanBackwardRef(shape, inputs, dout);
      const gpu = await runGpuScan(ctx, shape, inputs, dout, kernel);
      const tolerance = shape.L > 64 ? LONG : SHORT;
      assertClose(gpu.out, expected.out, tolerance, 'out');
      assertClose(gpu.hLast, expected.hLast, tolerance, 'last state');
      for (const key of ['du', 'ddelta', 'dA', 'dB', 'dC', 'dD', 'ddeltaBias'] as const) {
        assertClose(gpu.grads![key], expectedGrads[key], { rtol: 1e-3, atol: 1e-4 }, `${name} ${key}`);
      }
      if (gated) assertClose(gpu.grads!.dz, expectedGrads.dz, { rtol: 1e-3, atol: 1e-4 }, `${name} dz`);
    });
  }
});

describe('scan on long sequences', () => {
  gpuTest('L=65536 forward matches the CPU reference', async (ctx) => {
    const shape = { B: 1, L: 65536, DI: 4, N: 16, G: 1 };
    const rng = new Rng(65536);
    const inputs = randomInputs(rng, shape, { gated: true, softplus: true });
    const expected = selectiveScanRef(shape, inputs);
    const gpu = await runGpuScan(ctx, shape, inputs);
    assertClose(gpu.out, expected.out, LONG, 'out');
    assertClose(gpu.hLast, expected.hLast, LONG, 'last state');
  });

  gpuTest('state norms trace matches the CPU reference', async (ctx) => {
    const shape = { B: 2, L: 300, DI: 5, N: 16, G: 1 };
    const inputs = randomInputs(new Rng(300), shape, { gated: true, softplus: true });
    const expected = selectiveScanRef(shape, inputs);
    const { B, L, DI, N } = shape;
    const u = ctx.tensor('u', [L, B, DI], inputs.u);
    const delta = ctx.tensor('delta', [L, B, DI], inputs.delta);
    const xbc = ctx.tensor('xbc', [L, B, 2 * N], packXbc(shape, inputs));
    const z = ctx.tensor('z', [L, B, DI], inputs.z!);
    const channel = ctx.tensor('channel', [DI, N + 2], packChannel(shape, inputs));
    const states = ctx.tensor('states', [1, B, DI, N]);
    const out = ctx.tensor('out', [L, B, DI]);
    const stateNorms = ctx.tensor('state norms', [L, B, DI]);
    encodeScanForward(ctx, shape, {
      u,
      delta,
      xbc: { tensor: xbc, rowStride: 2 * N, bOffset: 0, cOffset: N },
      z: { tensor: z, rowStride: DI, colOffset: 0 },
      channel,
      states,
      saveChunkStates: false,
      out,
      deltaSoftplus: true,
      stateNorms,
    });
    assertClose(await ctx.read(stateNorms), expected.stateNorms, LONG, 'state norms');
    assertClose(await ctx.read(out), expected.out, LONG, 'out without saved chunk states');
    assertClose(await ctx.read(states), expected.hLast, LONG, 'final state in slot 0');
  });

  gpuTest('pack computes A = -exp(A_log)', async (ctx) => {
    const DI = 3;
    const N = 4;
    const aLogValues = Float32Array.from({ length: DI * N }, (_, i) => Math.log((i % N) + 1));
    const aLog = ctx.tensor('A_log', [DI, N], aLogValues);
    const D = ctx.tensor('D', [DI], Float32Array.of(1, 2, 3));
    const bias = ctx.tensor('bias', [DI], Float32Array.of(-1, -2, -3));
    const channel: Tensor = ctx.tensor('channel', [DI, N + 2]);
    encodeScanPack(ctx, { DI, N, aLog, D, deltaBias: bias, channel });
    const packed = await ctx.read(channel);
    for (let d = 0; d < DI; d++) {
      for (let n = 0; n < N; n++) assert.ok(Math.abs(packed[d * (N + 2) + n] + (n + 1)) < 1e-5, `A[${d},${n}] = ${packed[d * (N + 2) + n]}`);
      assert.equal(packed[d * (N + 2) + N], d + 1);
      assert.equal(packed[d * (N + 2) + N + 1], -(d + 1));
    }
  });
});
