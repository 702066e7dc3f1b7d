// The subgroup backward scan (scan_backward_subgroup.wgsl with scan_reduce_tiles.wgsl)
// against the CPU reference and against the portable kernels, on shapes that cross its
// segment, chunk and span boundaries and leave lanes idle.
import assert from 'node:assert/strict';
import { describe } from 'node:test';

import type { GpuContext } from '../../gpu/context';
import { encodeScanBackward, encodeScanForward, planSubgroupBackward, scanChunkSteps, scanStateSlots, ScanWorkspace, type ScanShape } from '../../gpu/kernels/scan';
import { selectiveScanBackwardRef, type ScanGrads, type ScanInputs } from '../../gpu/reference/scan';
import { Rng } from '../../gpu/util/rng';
import { assertClose } from '../support/compare';
import { gpuTest } from '../support/gpu';

type BackwardKernel = 'auto' | 'portable';
type GradName = 'du' | 'ddelta' | 'dA' | 'dB' | 'dC' | 'dD' | 'dz' | 'ddeltaBias';

interface Options {
  gated: boolean;
  softplus: boolean;
}

/** Inputs in the layout the model uses: x_dbl rows [dt (R) | B | C] and xz rows [x | z]. */
function randomInputs(rng: Rng, shape: ScanShape, options: Options): ScanInputs {
  const { B, L, DI, N, G } = shape;
  const tokens = L * B * DI;
  const A = new Float32Array(DI * N);
  for (let d = 0; d < DI; d++) for (let n = 0; n < N; n++) A[d * N + n] = -(n + 1) * (0.5 + rng.uniform());
  const width = 3 + 2 * G * N;
  const xbc = rng.normalArray(L * B * width);
  return {
    u: rng.normalArray(tokens),
    delta: rng.normalArray(tokens, options.softplus ? -2 : 0.05, options.softplus ? 1 : 0.02),
    A,
    Bm: { data: xbc, rowStride: width, colOffset: 3 },
    Cm: { data: xbc, rowStride: width, colOffset: 3 + G * N },
    D: rng.normalArray(DI),
    z: options.gated ? rng.normalArray(tokens) : null,
    // Without softplus dt = delta + bias must stay positive, or the states grow past float32.
    deltaBias: options.softplus ? rng.normalArray(DI, 0, 0.5) : Float32Array.from({ length: DI }, () => 0.01 + 0.1 * rng.uniform()),
    deltaSoftplus: options.softplus,
  };
}

function packChannel(shape: ScanShape, inputs: ScanInputs): Float32Array {
  const { DI, N } = shape;
  const channel = new Float32Array(DI * (N + 2));
  for (let d = 0; d < DI; d++) {
    for (let n = 0; n < N; n++) channel[d * (N + 2) + n] = inputs.A[d * N + n];
    channel[d * (N + 2) + N] = inputs.D![d];
    channel[d * (N + 2) + N + 1] = inputs.deltaBias![d];
  }
  return channel;
}

/** Runs the forward, then the backward with `kernel`, and reads every gradient back. */
async function runBackward(ctx: GpuContext, shape: ScanShape, inputs: ScanInputs, dout: Float32Array, kernel: BackwardKernel): Promise<ScanGrads> {
  const { B, L, DI, N, G } = shape;
  const rows = L * B;
  const width = inputs.Bm.rowStride;
  const u = ctx.tensor('u', [rows, DI], inputs.u);
  const delta = ctx.tensor('delta', [rows, DI], inputs.delta);
  const xbc = ctx.tensor('x_dbl', [rows, width], inputs.Bm.data);
  // z sits in the second half of xz rows, as in the model; dz lands in the same columns.
  const xzData = new Float32Array(rows * 2 * DI);
  if (inputs.z) for (let r = 0; r < rows; r++) xzData.set(inputs.z.subarray(r * DI, (r + 1) * DI), r * 2 * DI + DI);
  const xz = ctx.tensor('xz', [rows, 2 * DI], xzData);
  const channel = ctx.tensor('channel', [DI, N + 2], packChannel(shape, inputs));
  const states = ctx.tensor('states', [scanStateSlots(ctx, shape, width), B, DI, N]);
  const out = ctx.tensor('out', [rows, DI]);
  const xbcView = { tensor: xbc, rowStride: width, bOffset: inputs.Bm.colOffset, cOffset: inputs.Cm.colOffset };
  const zView = inputs.z ? { tensor: xz, rowStride: 2 * DI, colOffset: DI } : null;
  encodeScanForward(ctx, shape, { u, delta, xbc: xbcView, z: zView, channel, states, saveChunkStates: true, out, deltaSoftplus: inputs.deltaSoftplus });

  const doutTensor = ctx.tensor('dout', [rows, DI], dout);
  const du = ctx.tensor('du', [rows, DI]);
  const ddelta = ctx.tensor('ddelta', [rows, DI]);
  const dxz = ctx.tensor('dxz', [rows, 2 * DI]);
  const dxbc = ctx.tensor('dx_dbl', [rows, width]);
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
    dz: zView ? { tensor: dxz, rowStride: 2 * DI, colOffset: DI } : null,
    dxbc: { tensor: dxbc, rowStride: width, bOffset: inputs.Bm.colOffset, cOffset: inputs.Cm.colOffset },
    dA,
    wrtALog: false,
    dD,
    dDeltaBias,
    workspace,
    deltaSoftplus: inputs.deltaSoftplus,
    kernel,
  });

  const dxbcData = await ctx.read(dxbc);
  const grads: ScanGrads = {
    du: await ctx.read(du),
    ddelta: await ctx.read(ddelta),
    dA: await ctx.read(dA),
    dB: columns(dxbcData, width, inputs.Bm.colOffset, G * N),
    dC: columns(dxbcData, width, inputs.Cm.colOffset, G * N),
    dD: await ctx.read(dD),
    dz: columns(await ctx.read(dxz), 2 * DI, DI, DI),
    ddeltaBias: await ctx.read(dDeltaBias),
  };
  workspace.destroy();
  return grads;
}

/** Columns [offset, offset + count) of every row of a row-major matrix of `width` columns. */
function columns(data: Float32Array, width: number, offset: number, count: number): Float32Array {
  const rows = data.length / width;
  const out = new Float32Array(rows * count);
  for (let r = 0; r < rows; r++) out.set(data.subarray(r * width + offset, r * width + offset + count), r * count);
  return out;
}

/** The reference gradients with dB and dC cut down to the B and C columns, as runBackward returns them. */
function referenceGrads(shape: ScanShape, inputs: ScanInputs, dout: Float32Array): ScanGrads {
  const grads = selectiveScanBackwardRef(shape, inputs, dout);
  const count = shape.G * shape.N;
  grads.dB = columns(grads.dB, inputs.Bm.rowStride, inputs.Bm.colOffset, count);
  grads.dC = columns(grads.dC, inputs.Cm.rowStride, inputs.Cm.colOffset, count);
  return grads;
}

function gradNames(gated: boolean): GradName[] {
  const names: GradName[] = ['du', 'ddelta', 'dA', 'dB', 'dC', 'dD', 'ddeltaBias'];
  return gated ? [...names, 'dz'] : names;
}

const GRAD = { rtol: 1e-3, atol: 1e-4 };
// The two GPU paths sum in different orders; their float32 results differ by rounding only.
const BETWEEN_KERNELS = { rtol: 1e-4, atol: 1e-5 };

describe('subgroup scan backward', () => {
  gpuTest('runs on a device with subgroups', async (ctx) => {
    const shape = { B: 4, L: 4096, DI: 128, N: 16, G: 1 };
    const plan = planSubgroupBackward(ctx, shape, scanChunkSteps(ctx, shape, 36), 36);
    if (!ctx.device.features.has('subgroups')) {
      assert.equal(plan, null, 'a device without subgroups must use the portable kernels');
      return;
    }
    assert.ok(plan, 'the training shape should use the subgroup backward');
    assert.equal(plan.spanSteps, 4096, 'one dispatch should cover L = 4096');
    assert.equal(plan.tiles * plan.width * plan.channelsPerLane, 128, 'the tiles should cover the 128 channels');
  });

  const shapes: Array<[string, ScanShape, Options]> = [
    ['B=1 L=1', { B: 1, L: 1, DI: 8, N: 16, G: 1 }, { gated: true, softplus: true }],
    ['B=3 odd L=37, a partial segment', { B: 3, L: 37, DI: 16, N: 16, G: 1 }, { gated: true, softplus: true }],
    ['L=300 crosses a chunk boundary', { B: 2, L: 300, DI: 12, N: 8, G: 1 }, { gated: true, softplus: true }],
    ['L=700 no gate', { B: 1, L: 700, DI: 24, N: 16, G: 1 }, { gated: false, softplus: true }],
    ['no softplus', { B: 2, L: 90, DI: 8, N: 4, G: 1 }, { gated: true, softplus: false }],
    ['N=5, padded partial sums', { B: 1, L: 70, DI: 9, N: 5, G: 1 }, { gated: true, softplus: true }],
    ['N=20, three loads per lane', { B: 2, L: 70, DI: 16, N: 20, G: 1 }, { gated: true, softplus: true }],
    ['N=32, the largest subgroup state', { B: 1, L: 50, DI: 8, N: 32, G: 1 }, { gated: true, softplus: true }],
    ['DI=40, a workgroup with its second channels idle', { B: 1, L: 33, DI: 40, N: 16, G: 1 }, { gated: true, softplus: true }],
    ['DI=70, a partly idle workgroup', { B: 2, L: 40, DI: 70, N: 16, G: 1 }, { gated: true, softplus: true }],
    ['grouped G=2 with 12 channels per group', { B: 2, L: 517, DI: 24, N: 4, G: 2 }, { gated: true, softplus: true }],
    ['L=4500 spans two dispatches', { B: 2, L: 4500, DI: 8, N: 4, G: 1 }, { gated: true, softplus: true }],
  ];
  for (const [name, shape, options] of shapes) {
    gpuTest(`${name} matches the CPU reference`, async (ctx) => {
      const rng = new Rng(shape.L * 131 + shape.DI * 7 + shape.N);
      const inputs = randomInputs(rng, shape, options);
      const dout = rng.normalArray(shape.L * shape.B * shape.DI);
      const expected = referenceGrads(shape, inputs, dout);
      const gpu = await runBackward(ctx, shape, inputs, dout, 'auto');
      for (const key of gradNames(options.gated)) assertClose(gpu[key], expected[key], GRAD, `${name} ${key}`);
    });
  }

  gpuTest('agrees with the portable kernels at the training shape', async (ctx) => {
    const shape = { B: 4, L: 512, DI: 128, N: 16, G: 1 };
    const rng = new Rng(512);
    const inputs = randomInputs(rng, shape, { gated: true, softplus: true });
    const dout = rng.normalArray(shape.L * shape.B * shape.DI);
    const subgroup = await runBackward(ctx, shape, inputs, dout, 'auto');
    const portable = await runBackward(ctx, shape, inputs, dout, 'portable');
    for (const key of gradNames(true)) assertClose(subgroup[key], portable[key], BETWEEN_KERNELS, key);
  });

  gpuTest(
    'L=65536 matches the CPU reference across 16 spans',
    async (ctx) => {
      const shape = { B: 1, L: 65536, DI: 4, N: 16, G: 1 };
      const rng = new Rng(65536);
      const inputs = randomInputs(rng, shape, { gated: true, softplus: true });
      const dout = rng.normalArray(shape.L * shape.B * shape.DI);
      const expected = referenceGrads(shape, inputs, dout);
      const gpu = await runBackward(ctx, shape, inputs, dout, 'auto');
      for (const key of gradNames(true)) assertClose(gpu[key], expected[key], GRAD, key);
    },
    { timeout: 600_000 },
  );
});
