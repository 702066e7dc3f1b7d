// Benchmark of the selective scan: GPU forward and backward against the TypeScript
// reference on the same input, in time steps x channels per second.
//
//   node --import ./scripts/register.mjs gpu/bench/scan-bench.ts [--L 16384] [--DI 256] [--N 16] [--B 1]
import type { GpuContext } from '../context';
import { createNodeContext } from '../node';
import { encodeScanBackward, encodeScanForward, scanStateSlots, ScanWorkspace, type ScanShape } from '../kernels/scan';
import { selectiveScanBackwardRef, selectiveScanRef, type ScanInputs } from '../reference/scan';

export interface ScanBenchResult {
  shape: ScanShape;
  adapter: string;
  gpuForwardSec: number;
  gpuBackwardSec: number;
  referenceForwardSec: number;
  referenceBackwardSec: number;
  /** Time steps x channels per second (B * L * DI / seconds). */
  gpuForwardRate: number;
  gpuBackwardRate: number;
  referenceForwardRate: number;
  referenceBackwardRate: number;
}

function seededInputs(shape: ScanShape): { inputs: ScanInputs; dout: Float32Array } {
  const { B, L, DI, N } = shape;
  let state = 12345;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 4294967296 - 0.5;
  };
  const fill = (length: number, scale = 1, offset = 0) => Float32Array.from({ length }, () => offset + scale * next());
  const A = new Float32Array(DI * N);
  for (let d = 0; d < DI; d++) for (let n = 0; n < N; n++) A[d * N + n] = -(n + 1);
  const inputs: ScanInputs = {
    u: fill(L * B * DI, 2),
    delta: fill(L * B * DI, 1, -3),
    A,
    Bm: { data: fill(L * B * 2 * N, 2), rowStride: 2 * N, colOffset: 0 },
    Cm: { data: new Float32Array(0), rowStride: 2 * N, colOffset: N },
    D: fill(DI, 1, 1),
    z: fill(L * B * DI, 2),
    deltaBias: fill(DI, 1, -2),
    deltaSoftplus: true,
  };
  inputs.Cm.data = inputs.Bm.data;
  return { inputs, dout: fill(L * B * DI, 2) };
}

function now(): number {
  return performance.now() / 1000;
}

export async function benchScan(ctx: GpuContext, shape: ScanShape, repeats = 3): Promise<ScanBenchResult> {
  const { B, L, DI, N } = shape;
  const { inputs, dout } = seededInputs(shape);
  const channel = new Float32Array(DI * (N + 2));
  for (let d = 0; d < DI; d++) {
    channel.set(inputs.A.subarray(d * N, (d + 1) * N), d * (N + 2));
    channel[d * (N + 2) + N] = inputs.D![d];
    channel[d * (N + 2) + N + 1] = inputs.deltaBias![d];
  }
  const release = ctx.trackScope();
  const u = ctx.tensor('u', [L, B, DI], inputs.u);
  const delta = ctx.tensor('delta', [L, B, DI], inputs.delta);
  const xbc = ctx.tensor('xbc', [L, B, 2 * N], inputs.Bm.data);
  const z = ctx.tensor('z', [L, B, DI], inputs.z!);
  const channelTensor = ctx.tensor('channel', [DI, N + 2], channel);
  const states = ctx.tensor('states', [scanStateSlots(ctx, shape, 2 * N), B, DI, N]);
  const out = ctx.tensor('out', [L, B, DI]);
  const doutTensor = ctx.tensor('dout', [L, B, DI], dout);
  const grads = ['du', 'ddelta', 'dz'].map((name) => ctx.tensor(name, [L, B, DI]));
  const dxbc = ctx.tensor('dxbc', [L, B, 2 * N]);
  const small = [ctx.tensor('dA', [DI, N]), ctx.tensor('dD', [DI]), ctx.tensor('dbias', [DI])];
  const workspace = new ScanWorkspace(ctx);
  const xbcView = { tensor: xbc, rowStride: 2 * N, bOffset: 0, cOffset: N };
  const zView = { tensor: z, rowStride: DI, colOffset: 0 };

  const forward = () =>
    encodeScanForward(ctx, shape, { u, delta, xbc: xbcView, z: zView, channel: channelTensor, states, saveChunkStates: true, out, deltaSoftplus: true });
  const backward = () =>
    encodeScanBackward(ctx, shape, {
      u,
      delta,
      xbc: xbcView,
      z: zView,
      channel: channelTensor,
      states,
      dout: doutTensor,
      du: grads[0],
      ddelta: grads[1],
      dz: { tensor: grads[2], rowStride: DI, colOffset: 0 },
      dxbc: { tensor: dxbc, rowStride: 2 * N, bOffset: 0, cOffset: N },
      dA: small[0],
      wrtALog: false,
      dD: small[1],
      dDeltaBias: small[2],
      workspace,
      deltaSoftplus: true,
    });

  // Warm-up compiles the shaders (lavapipe compiles at the first submit).
  forward();
  backward();
  await ctx.finish();
  const errors = ctx.takeErrors();
  if (errors.length > 0) throw new Error(`scan benchmark: WebGPU errors: ${errors[0]}`);

  let gpuForwardSec = Infinity;
  let gpuBackwardSec = Infinity;
  for (let i = 0; i < repeats; i++) {
    let start = now();
    forward();
    await ctx.finish();
    gpuForwardSec = Math.min(gpuForwardSec, now() - start);
    start = now();
    backward();
    await ctx.finish();
    gpuBackwardSec = Math.min(gpuBackwardSec, now() - start);
  }
  workspace.destroy();
  release();

  let start = now();
  selectiveScanRef(shape, inputs);
  const referenceForwardSec = now() - start;
  start = now();
  selectiveScanBackwardRef(shape, inputs, dout);
  const referenceBackwardSec = now() - start;

  const work = B * L * DI;
  return {
    shape,
    adapter: ctx.info.adapterName,
    gpuForwardSec,
    gpuBackwardSec,
    referenceForwardSec,
    referenceBackwardSec,
    gpuForwardRate: work / gpuForwardSec,
    gpuBackwardRate: work / gpuBackwardSec,
    referenceForwardRate: work / referenceForwardSec,
    referenceBackwardRate: work / referenceBackwardSec,
  };
}

export function formatScanBench(result: ScanBenchResult): string {
  const { B, L, DI, N } = result.shape;
  const rate = (value: number) => `${(value / 1e6).toFixed(2)} M/s`;
  return [
    `selective scan B=${B} L=${L} DI=${DI} N=${N} on ${result.adapter}`,
    `  forward : GPU ${(result.gpuForwardSec * 1e3).toFixed(1)} ms (${rate(result.gpuForwardRate)}), ` +
      `TS reference ${(result.referenceForwardSec * 1e3).toFixed(1)} ms (${rate(result.referenceForwardRate)}), ` +
      `speed-up ${(result.referenceForwardSec / result.gpuForwardSec).toFixed(1)}x`,
    `  backward: GPU ${(result.gpuBackwardSec * 1e3).toFixed(1)} ms (${rate(result.gpuBackwardRate)}), ` +
      `TS reference ${(result.referenceBackwardSec * 1e3).toFixed(1)} ms (${rate(result.referenceBackwardRate)}), ` +
      `speed-up ${(result.referenceBackwardSec / result.gpuBackwardSec).toFixed(1)}x`,
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const option = (name: string, fallback: number) => {
    const index = process.argv.indexOf(`--${name}`);
    return index >= 0 ? Number(process.argv[index + 1]) : fallback;
  };
  const shape: ScanShape = { B: option('B', 1), L: option('L', 16384), DI: option('DI', 256), N: option('N', 16), G: 1 };
  const ctx = await createNodeContext();
  console.log(formatScanBench(await benchScan(ctx, shape)));
  ctx.destroy();
}
