// Tiled matrix multiply for the linear layers, the hot path of training.
//
//   forward          Y (+)= X @ W^T      X (rows, in), W (out, in), Y (rows, out)
//   input gradient   dX (+)= dY @ W
//   weight gradient  dW (+)= dY^T @ X    a sum over all L * B rows
//
// W has PyTorch's nn.Linear layout (out, in). Every activation operand is a strided view,
// so column slices such as x_in = xz[:, 0:DI] need no copy.
//
// Split-K: the weight gradient has few output tiles (a 256 x 64 result summed over 16,384 or
// more rows), so its k range is cut into splits that run in parallel. Each split writes a
// partial result to a Workspace, and reduce_partials adds them. Splitting also keeps every
// invocation's loop short enough for the OpenGL ES fallback.
//
// Two kernels compute the product. On devices with subgroups, matmul_subgroup.wgsl runs
// with a tiling chosen per shape (planSubgroupTiling). Elsewhere, or when a caller asks for
// kernel 'portable', matmul.wgsl runs with its fixed 64 x 64 tiles.
import { Params, ShapeError, specialize, type GpuContext, type KernelSpec, type Tensor } from '../context';
import { checkDim, checkNoAlias, checkView, type MatrixView } from './matrix_view';
import source from './matmul.wgsl';
import subgroupSource from './matmul_subgroup.wgsl';
import { encodeReducePartials, MAX_PARTS } from './reduce_partials';
import { wgslConstant } from './wgsl_constants';
import type { Workspace } from './workspace';

export const matmulKernel: KernelSpec = { label: 'matmul', source };
export const matmulSubgroupKernel: KernelSpec = { label: 'matmul_subgroup', source: subgroupSource };

export const TILE_M = wgslConstant(source, 'WORKGROUP_Y') * wgslConstant(source, 'BLOCK_M');
export const TILE_N = wgslConstant(source, 'WORKGROUP_X') * wgslConstant(source, 'BLOCK_N');
export const TILE_K = wgslConstant(source, 'TILE_K');

/**
 * Maximum k range that one invocation sums. An invocation runs about three loop iterations per
 * k (two tile loads and the multiply loop), which keeps it well under the 65,535 iterations
 * after which the OpenGL ES fallback (Mesa 22.3) silently stops loops.
 */
export const MAX_K_PER_SPLIT = 8192;
/** Minimum k range worth a split of its own. */
const MIN_K_PER_SPLIT = 256;
/** Workgroups to aim for when splitting k: enough for a CPU adapter's threads and a small GPU. */
const TARGET_WORKGROUPS = 64;

export interface MatmulPlan {
  /** Number of k splits; 1 writes C directly. */
  splits: number;
  /** k values per split, a multiple of TILE_K. */
  kPerSplit: number;
  /** Workspace elements the splits need (0 when splits is 1). */
  scratchElements: number;
}

/**
 * Chooses the split-K factor for an (m, n, k) product on the portable kernel. `allowSplit` =
 * false requests the plan for a call without a workspace, which splits only when k exceeds
 * MAX_K_PER_SPLIT.
 */
export function planMatmul(ctx: GpuContext, m: number, n: number, k: number, allowSplit = true): MatmulPlan {
  const tiles = Math.ceil(m / TILE_M) * Math.ceil(n / TILE_N);
  return planSplits(ctx, tiles, m, n, k, allowSplit);
}

/** Chooses the split-K factor for a product whose result has `tiles` workgroup tiles. */
function planSplits(ctx: GpuContext, tiles: number, m: number, n: number, k: number, allowSplit: boolean): MatmulPlan {
  let splits = Math.ceil(k / MAX_K_PER_SPLIT);
  if (allowSplit) {
    const requested = Math.ceil(TARGET_WORKGROUPS / Math.max(1, tiles));
    splits = Math.max(splits, Math.min(requested, Math.floor(k / MIN_K_PER_SPLIT)));
    const bindingElements = Math.floor(ctx.limits.maxStorageBufferBindingSize / 4);
    const fitting = Math.floor(bindingElements / Math.max(1, m * n));
    splits = Math.max(Math.ceil(k / MAX_K_PER_SPLIT), Math.min(splits, fitting, MAX_PARTS));
  }
  const kPerSplit = Math.ceil(Math.ceil(k / Math.max(1, splits)) / TILE_K) * TILE_K;
  splits = Math.max(1, Math.ceil(k / kPerSplit));
  return { splits, kPerSplit, scratchElements: splits > 1 ? splits * m * n : 0 };
}

/**
 * Maximum accumulators (output values) of one invocation of matmul_subgroup.wgsl. On
 * lavapipe (Mesa 25.0) 512 ran the training shapes no faster and compiled slower.
 */
const MAX_SUBGROUP_ACCUMULATORS = 256;
const MAX_SUBGROUP_ROWS_PER_LANE = 16;
const MAX_SUBGROUP_COLUMNS = 32;

/** Tile shape of matmul_subgroup.wgsl for one product; see planSubgroupTiling. */
export interface SubgroupTiling {
  /** Invocations per workgroup, one subgroup. */
  lanes: number;
  rowsPerLane: number;
  /** Columns per workgroup, a multiple of 4. */
  columns: number;
  /** Whether the kernel computes C^T = B^T A^T, so that lanes run along the longer side of C. */
  transpose: boolean;
}

/**
 * Returns the tiling of matmul_subgroup.wgsl for an m x n result, or null on a device
 * without subgroups of at least 4 lanes. Lanes run along the longer side of C. Columns per
 * workgroup are the multiple of 4 up to 32 that pads the other side least, and each lane
 * takes as many rows as MAX_SUBGROUP_ACCUMULATORS allows, up to 16.
 */
export function planSubgroupTiling(ctx: GpuContext, m: number, n: number): SubgroupTiling | null {
  if (!ctx.device.features.has('subgroups')) return null;
  const minSize = (ctx.device as GPUDevice & { adapterInfo?: { subgroupMinSize?: number } }).adapterInfo?.subgroupMinSize;
  if (typeof minSize !== 'number' || minSize < 4) return null;
  let lanes = 1;
  while (lanes * 2 <= Math.min(minSize, 32)) lanes *= 2;

  const transpose = n > m;
  const rows = transpose ? n : m;
  const cols = transpose ? m : n;
  let columns = 4;
  for (let candidate = 4; candidate <= MAX_SUBGROUP_COLUMNS; candidate += 4) {
    const padded = Math.ceil(cols / candidate) * candidate;
    if (padded <= Math.ceil(cols / columns) * columns) columns = candidate;
  }
  const rowsPerLane = Math.max(1, Math.min(MAX_SUBGROUP_ROWS_PER_LANE, Math.floor(MAX_SUBGROUP_ACCUMULATORS / columns), Math.ceil(rows / lanes)));
  return { lanes, rowsPerLane, columns, transpose };
}

/** Source of matmul_subgroup.wgsl for a tiling: the statements at its `{{...}}` marks, written out. */
export function expandSubgroupMatmul(tiling: SubgroupTiling): string {
  const { lanes, rowsPerLane, columns } = tiling;
  const rowIndices = Array.from({ length: rowsPerLane }, (_, q) => q);
  const columnIndices = Array.from({ length: columns }, (_, j) => j);
  const loadIndices = Array.from({ length: Math.ceil(columns / lanes) }, (_, p) => p);
  const accumulators = rowIndices.flatMap((q) => columnIndices.map((j) => ({ q, j, name: `acc${q}_${j}` })));
  const expansions: Record<string, string> = {
    bases: [
      ...rowIndices.map((q) => `let a_row${q} = params.a_offset + min(row0 + ${q * lanes}u, last_row) * params.a_row_stride;`),
      ...loadIndices.map((p) => `let b_col${p} = params.b_offset + min(col0 + ${p * lanes}u + loader, last_col) * params.b_col_stride;`),
    ].join('\n  '),
    declare: accumulators.map(({ name }) => `var ${name} = 0.0;`).join('\n  '),
    load: [...rowIndices.map((q) => `let a${q} = a[a_row${q} + a_k];`), ...loadIndices.map((p) => `let b_lane${p} = b[b_col${p} + b_k];`)].join('\n    '),
    update: columnIndices
      .map((j) =>
        [`let b${j} = subgroupBroadcast(b_lane${Math.floor(j / lanes)}, ${j % lanes}u);`, ...rowIndices.map((q) => `acc${q}_${j} += a${q} * b${j};`)].join('\n    '),
      )
      .join('\n    '),
    gather: accumulators.map(({ q, j, name }) => `values[${q * columns + j}] = ${name};`).join('\n  '),
  };
  let expanded = subgroupSource;
  for (const [mark, text] of Object.entries(expansions)) {
    const token = `{{${mark}}}`;
    if (!expanded.includes(token)) throw new Error(`matmul_subgroup.wgsl: the mark ${token} is missing`);
    expanded = expanded.replace(token, text);
  }
  return expanded;
}

const subgroupKernels = new Map<string, KernelSpec>();

function subgroupKernelFor(tiling: SubgroupTiling): KernelSpec {
  const key = `${tiling.lanes}:${tiling.rowsPerLane}:${tiling.columns}`;
  let kernel = subgroupKernels.get(key);
  if (!kernel) {
    kernel = specialize(
      { label: matmulSubgroupKernel.label, source: expandSubgroupMatmul(tiling) },
      { LANES: tiling.lanes, ROWS_PER_LANE: tiling.rowsPerLane, COLUMNS: tiling.columns },
    );
    subgroupKernels.set(key, kernel);
  }
  return kernel;
}

export interface MatmulArgs {
  m: number;
  n: number;
  k: number;
  /** A (m, k); with transposeA the view stores A^T, a (k, m) matrix. */
  a: MatrixView;
  transposeA?: boolean;
  /** B (k, n); with transposeB the view stores B^T, an (n, k) matrix. */
  b: MatrixView;
  transposeB?: boolean;
  /** C (m, n); must not share a buffer with A or B. */
  c: MatrixView;
  /** C += A @ B instead of C = A @ B. */
  accumulate?: boolean;
  /** Scratch for split-K; without it the product runs unsplit, and k must be <= MAX_K_PER_SPLIT. */
  workspace?: Workspace;
  /**
   * 'auto' (default) uses matmul_subgroup.wgsl where the device has subgroups; 'portable'
   * forces matmul.wgsl, so tests cover both on one device.
   */
  kernel?: 'auto' | 'portable';
}

/** Records C (+)= A @ B, split over k when that adds parallelism (see planMatmul). */
export function encodeMatmul(ctx: GpuContext, args: MatmulArgs): void {
  const label = matmulKernel.label;
  const { m, n, k, a, b, c } = args;
  checkDim(label, 'm', m, 0);
  checkDim(label, 'n', n, 0);
  checkDim(label, 'k', k, 1);
  if (m === 0 || n === 0) return;
  checkView(label, 'A', a, args.transposeA ? k : m, args.transposeA ? m : k);
  checkView(label, 'B', b, args.transposeB ? n : k, args.transposeB ? k : n);
  checkView(label, 'C', c, m, n, true);
  checkNoAlias(label, c.tensor, 'C', { A: a.tensor, B: b.tensor });

  const tiling = (args.kernel ?? 'auto') === 'auto' ? planSubgroupTiling(ctx, m, n) : null;
  if (tiling) {
    encodeSubgroupMatmul(ctx, args, tiling);
    return;
  }

  const maxGroups = ctx.limits.maxComputeWorkgroupsPerDimension;
  const groupsX = Math.ceil(n / TILE_N);
  const groupsY = Math.ceil(m / TILE_M);
  if (groupsX > maxGroups || groupsY > maxGroups) {
    throw new ShapeError(`${label}: a ${m} x ${n} result needs ${groupsY} x ${groupsX} tiles, over ${maxGroups} per dimension. Multiply fewer rows per call.`);
  }

  const plan = planMatmul(ctx, m, n, k, args.workspace !== undefined);
  if (plan.splits > 1 && !args.workspace) {
    throw new ShapeError(`${label}: k = ${k} exceeds ${MAX_K_PER_SPLIT} for one pass; pass a Workspace so the product can be split over k.`);
  }

  // Element (row, col) of each operand is at offset + row * rowStride + col * colStride.
  const aStrides = args.transposeA ? [1, a.rowStride] : [a.rowStride, 1];
  const bStrides = args.transposeB ? [1, b.rowStride] : [b.rowStride, 1];
  const params = new Params()
    .u32(m)
    .u32(n)
    .u32(k)
    .u32(a.colOffset)
    .u32(aStrides[0])
    .u32(aStrides[1])
    .u32(b.colOffset)
    .u32(bStrides[0])
    .u32(bStrides[1]);

  if (plan.splits === 1) {
    params.u32(c.colOffset).u32(c.rowStride).u32(0).u32(plan.kPerSplit).u32(args.accumulate ? 1 : 0);
    ctx.dispatch(matmulKernel, { params, bindings: [a.tensor, b.tensor, c.tensor], workgroups: [groupsX, groupsY, 1] });
    return;
  }

  const scratch = args.workspace!.scratch(plan.scratchElements);
  checkNoAlias(label, scratch, 'workspace', { A: a.tensor, B: b.tensor });
  params.u32(0).u32(n).u32(m * n).u32(plan.kPerSplit).u32(0);
  ctx.dispatch(matmulKernel, { params, bindings: [a.tensor, b.tensor, scratch], workgroups: [groupsX, groupsY, plan.splits] });
  encodeReducePartials(ctx, { rows: m, cols: n, parts: plan.splits, partials: scratch, out: c, accumulate: args.accumulate });
}

/** Records C (+)= A @ B with matmul_subgroup.wgsl; the arguments are already checked. */
function encodeSubgroupMatmul(ctx: GpuContext, args: MatmulArgs, tiling: SubgroupTiling): void {
  const label = matmulSubgroupKernel.label;
  const { m, n, k, a, b, c } = args;
  const rows = tiling.transpose ? n : m;
  const cols = tiling.transpose ? m : n;
  const groupsX = Math.ceil(rows / (tiling.lanes * tiling.rowsPerLane));
  const groupsY = Math.ceil(cols / tiling.columns);
  const maxGroups = ctx.limits.maxComputeWorkgroupsPerDimension;
  if (groupsX > maxGroups || groupsY > maxGroups) {
    throw new ShapeError(`${label}: a ${m} x ${n} result needs ${groupsX} x ${groupsY} workgroups, over ${maxGroups} per dimension. Multiply fewer rows per call.`);
  }
  const plan = planSplits(ctx, groupsX * groupsY, m, n, k, args.workspace !== undefined);
  if (plan.splits > 1 && !args.workspace) {
    throw new ShapeError(`${matmulKernel.label}: k = ${k} exceeds ${MAX_K_PER_SPLIT} for one pass; pass a Workspace so the product can be split over k.`);
  }

  // Element (row, col) of each operand is at offset + row * rowStride + col * colStride.
  // C^T = B^T A^T swaps the operands and reverses every pair of strides.
  const aStrides = args.transposeA ? [1, a.rowStride] : [a.rowStride, 1];
  const bStrides = args.transposeB ? [1, b.rowStride] : [b.rowStride, 1];
  const [first, firstStrides, second, secondStrides] = tiling.transpose
    ? [b, [bStrides[1], bStrides[0]], a, [aStrides[1], aStrides[0]]]
    : [a, aStrides, b, bStrides];
  const params = new Params()
    .u32(rows)
    .u32(cols)
    .u32(k)
    .u32(first.colOffset)
    .u32(firstStrides[0])
    .u32(firstStrides[1])
    .u32(second.colOffset)
    .u32(secondStrides[0])
    .u32(secondStrides[1]);
  const kernel = subgroupKernelFor(tiling);
  const orient = (rowStride: number, colStride: number) => (tiling.transpose ? [colStride, rowStride] : [rowStride, colStride]);

  if (plan.splits === 1) {
    const [cRowStride, cColStride] = orient(c.rowStride, 1);
    params.u32(c.colOffset).u32(cRowStride).u32(cColStride).u32(0).u32(plan.kPerSplit).u32(args.accumulate ? 1 : 0);
    ctx.dispatch(kernel, { params, bindings: [first.tensor, second.tensor, c.tensor], workgroups: [groupsX, groupsY, 1] });
    return;
  }

  // Split s writes its partial C, row-major (m, n), at s * m * n in the scratch.
  const scratch = args.workspace!.scratch(plan.scratchElements);
  checkNoAlias(label, scratch, 'workspace', { A: a.tensor, B: b.tensor });
  const [cRowStride, cColStride] = orient(n, 1);
  params.u32(0).u32(cRowStride).u32(cColStride).u32(m * n).u32(plan.kPerSplit).u32(0);
  ctx.dispatch(kernel, { params, bindings: [first.tensor, second.tensor, scratch], workgroups: [groupsX, groupsY, plan.splits] });
  encodeReducePartials(ctx, { rows: m, cols: n, parts: plan.splits, partials: scratch, out: c, accumulate: args.accumulate });
}

/** Dimensions of a linear layer applied to `rows` tokens: weight (outDim, inDim). */
export interface LinearDims {
  rows: number;
  inDim: number;
  outDim: number;
}

function checkWeight(kernel: string, weight: Tensor, dims: LinearDims): MatrixView {
  const view = { tensor: weight, rowStride: dims.inDim, colOffset: 0 };
  checkView(kernel, 'weight', view, dims.outDim, dims.inDim);
  return view;
}

/** Records y (+)= x @ W^T: x (rows, inDim), W (outDim, inDim), y (rows, outDim). */
export function encodeLinearForward(
  ctx: GpuContext,
  args: LinearDims & { x: MatrixView; weight: Tensor; y: MatrixView; accumulate?: boolean; workspace?: Workspace },
): void {
  const weight = checkWeight('linear forward', args.weight, args);
  encodeMatmul(ctx, {
    m: args.rows,
    n: args.outDim,
    k: args.inDim,
    a: args.x,
    b: weight,
    transposeB: true,
    c: args.y,
    accumulate: args.accumulate,
    workspace: args.workspace,
  });
}

/** Records dx (+)= dy @ W: dy (rows, outDim), W (outDim, inDim), dx (rows, inDim). */
export function encodeLinearInputGrad(
  ctx: GpuContext,
  args: LinearDims & { dy: MatrixView; weight: Tensor; dx: MatrixView; accumulate?: boolean; workspace?: Workspace },
): void {
  const weight = checkWeight('linear input gradient', args.weight, args);
  encodeMatmul(ctx, {
    m: args.rows,
    n: args.inDim,
    k: args.outDim,
    a: args.dy,
    b: weight,
    c: args.dx,
    accumulate: args.accumulate,
    workspace: args.workspace,
  });
}

/**
 * Records dW (+)= dy^T @ x, summed over all rows: dy (rows, outDim), x (rows, inDim),
 * dW (outDim, inDim). `accumulate` adds into the existing dW (gradient accumulation).
 */
export function encodeLinearWeightGrad(
  ctx: GpuContext,
  args: LinearDims & { dy: MatrixView; x: MatrixView; dWeight: Tensor; accumulate?: boolean; workspace: Workspace },
): void {
  const dWeight = checkWeight('linear weight gradient', args.dWeight, args);
  encodeMatmul(ctx, {
    m: args.outDim,
    n: args.inDim,
    k: args.rows,
    a: args.dy,
    transposeA: true,
    b: args.x,
    c: dWeight,
    accumulate: args.accumulate,
    workspace: args.workspace,
  });
}
