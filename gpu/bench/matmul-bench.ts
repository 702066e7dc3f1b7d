// Throughput of the tiled matmul kernel against a plain JavaScript loop, on 512^3 and on
// the linear layers of a training step (M = 16,384 rows of D = 64, DI = 128, V = 256,
// x_proj width 36).
//
//   node --import ./scripts/register.mjs gpu/bench/matmul-bench.ts [--quick]
//
// Prints GFLOP/s of wall time and GFLOP per CPU-second (process CPU time, which includes
// the driver's worker threads). On a shared machine the CPU-second figure is the steadier
// of the two: wall time also counts the time other processes hold the cores.
import { cpus, loadavg } from 'node:os';

import type { GpuContext, Tensor } from '../context';
import { encodeMatmul, planMatmul } from '../kernels/matmul';
import { wholeMatrix } from '../kernels/matrix_view';
import { Workspace } from '../kernels/workspace';
import { createNodeContext } from '../node';
import { Rng } from '../util/rng';

interface Case {
  name: string;
  m: number;
  n: number;
  k: number;
  transposeA: boolean;
  transposeB: boolean;
  /** Also time the JavaScript loop on this case. */
  javascript: boolean;
}

const ROWS = 16384;
const CASES: Case[] = [
  { name: '512^3, A @ B^T', m: 512, n: 512, k: 512, transposeA: false, transposeB: true, javascript: true },
  { name: '512^3, A @ B', m: 512, n: 512, k: 512, transposeA: false, transposeB: false, javascript: true },
  { name: 'in_proj forward (x @ W^T)', m: ROWS, n: 256, k: 64, transposeA: false, transposeB: true, javascript: true },
  { name: 'in_proj input grad (dy @ W)', m: ROWS, n: 64, k: 256, transposeA: false, transposeB: false, javascript: false },
  { name: 'in_proj weight grad (dy^T @ x)', m: 256, n: 64, k: ROWS, transposeA: true, transposeB: false, javascript: true },
  { name: 'x_proj forward', m: ROWS, n: 36, k: 128, transposeA: false, transposeB: true, javascript: false },
  { name: 'x_proj input grad', m: ROWS, n: 128, k: 36, transposeA: false, transposeB: false, javascript: false },
  { name: 'x_proj weight grad', m: 36, n: 128, k: ROWS, transposeA: true, transposeB: false, javascript: false },
  { name: 'out_proj forward', m: ROWS, n: 64, k: 128, transposeA: false, transposeB: true, javascript: false },
  { name: 'out_proj weight grad', m: 64, n: 128, k: ROWS, transposeA: true, transposeB: false, javascript: false },
  { name: 'head weight grad, 65,536 rows', m: 256, n: 64, k: 4 * ROWS, transposeA: true, transposeB: false, javascript: false },
];

const MIN_SECONDS = 1;

function randomArray(rng: Rng, length: number): Float32Array {
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = rng.uniform() * 2 - 1;
  return out;
}

/** C = A @ B (A or B optionally stored transposed) with the loop order a JS author would pick. */
function javascriptMatmul(c: Case, a: Float32Array, b: Float32Array, out: Float32Array): void {
  const { m, n, k } = c;
  out.fill(0);
  for (let i = 0; i < m; i++) {
    for (let kk = 0; kk < k; kk++) {
      const aValue = c.transposeA ? a[kk * m + i] : a[i * k + kk];
      const outRow = i * n;
      if (c.transposeB) {
        for (let j = 0; j < n; j++) out[outRow + j] += aValue * b[j * k + kk];
      } else {
        const bRow = kk * n;
        for (let j = 0; j < n; j++) out[outRow + j] += aValue * b[bRow + j];
      }
    }
  }
}

interface Timing {
  wallSec: number;
  cpuSec: number;
}

async function timeRepeated(run: () => Promise<void> | void): Promise<Timing> {
  await run();
  let reps = 0;
  const cpuStart = process.cpuUsage();
  const wallStart = performance.now();
  while (performance.now() - wallStart < MIN_SECONDS * 1000) {
    await run();
    reps++;
  }
  const cpu = process.cpuUsage(cpuStart);
  return { wallSec: (performance.now() - wallStart) / 1000 / reps, cpuSec: (cpu.user + cpu.system) / 1e6 / reps };
}

function gflop(c: Case): number {
  return (2 * c.m * c.n * c.k) / 1e9;
}

async function benchGpu(ctx: GpuContext, c: Case, a: Tensor, b: Tensor, out: Tensor, workspace: Workspace): Promise<Timing> {
  const run = async () => {
    encodeMatmul(ctx, {
      m: c.m,
      n: c.n,
      k: c.k,
      a: wholeMatrix(a, c.transposeA ? c.m : c.k),
      transposeA: c.transposeA,
      b: wholeMatrix(b, c.transposeB ? c.k : c.n),
      transposeB: c.transposeB,
      c: wholeMatrix(out, c.n),
      workspace,
    });
    await ctx.finish();
  };
  return timeRepeated(run);
}

function format(c: Case, timing: Timing): string {
  const wall = gflop(c) / timing.wallSec;
  const perCpu = gflop(c) / timing.cpuSec;
  return `${wall.toFixed(2).padStart(6)} GFLOP/s wall, ${perCpu.toFixed(2).padStart(6)} GFLOP per CPU-s, ${(timing.wallSec * 1000).toFixed(1).padStart(8)} ms`;
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const ctx = await createNodeContext({ label: 'matmul bench' });
  const workspace = new Workspace(ctx, 'matmul bench workspace');
  console.log(`adapter: ${ctx.info.adapterName} (${ctx.info.mode})`);
  console.log(`CPU: ${cpus()[0]?.model ?? 'unknown'} x ${cpus().length}; load average at start ${loadavg().map((v) => v.toFixed(2)).join(' ')}`);
  console.log('The first run of each case compiles the shader and is not timed.\n');

  const rng = new Rng(1);
  for (const c of quick ? CASES.slice(0, 3) : CASES) {
    const aData = randomArray(rng, c.m * c.k);
    const bData = randomArray(rng, c.k * c.n);
    const a = ctx.tensor('bench A', [c.m * c.k], aData);
    const b = ctx.tensor('bench B', [c.k * c.n], bData);
    const out = ctx.tensor('bench C', [c.m * c.n]);
    const plan = planMatmul(ctx, c.m, c.n, c.k);
    const splitNote = plan.splits > 1 ? `, split-K x${plan.splits}` : '';
    console.log(`${c.name}: m=${c.m} n=${c.n} k=${c.k}${splitNote}`);
    console.log(`  WGSL  ${format(c, await benchGpu(ctx, c, a, b, out, workspace))}`);
    if (c.javascript) {
      const jsOut = new Float32Array(c.m * c.n);
      console.log(`  JS    ${format(c, await timeRepeated(() => javascriptMatmul(c, aData, bData, jsOut)))}`);
    }
    ctx.release(a, b, out);
  }
  console.log(`\nload average at end ${loadavg().map((v) => v.toFixed(2)).join(' ')}`);
  workspace.destroy();
  ctx.destroy();
}

await main();
