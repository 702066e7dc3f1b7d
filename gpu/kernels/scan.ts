// TypeScript side of the selective scan: validates shapes, splits time into chunks and
// encodes the kernels of scan_*.wgsl. CPU reference: gpu/reference/scan.ts.
//
// Time is processed in chunks of T steps (a multiple of 64, so every chunk's row range
// starts at a byte offset aligned to 256, the largest minStorageBufferOffsetAlignment
// WebGPU allows). Each dispatch binds only its chunk's rows, so the sequence length is
// bounded by buffer sizes, not by the 128 MiB binding limit. The forward saves the state
// at every chunk boundary; the backward recomputes a chunk's states from its saved start
// state, into a scratch of (T + 1, B, DI, N) (portable kernels) or into private memory one
// segment at a time (subgroup kernel), instead of keeping (L, B, DI, N). The
// forward walks up to MAX_FORWARD_SPAN_STEPS steps (several chunks) per dispatch, because
// on lavapipe each dispatch costs a fixed few milliseconds.
import { elementCount, Params, ShapeError, specialize, type Binding, type GpuContext, type KernelSpec, type Tensor } from '../context';
import mathSource from './scan_math.wgsl';
import forwardSource from './scan_forward.wgsl';
import forwardSubgroupSource from './scan_forward_subgroup.wgsl';
import recomputeSource from './scan_recompute.wgsl';
import gateBackwardSource from './scan_gate_backward.wgsl';
import reduceChannelsSource from './scan_reduce_channels.wgsl';
import backwardSource from './scan_backward.wgsl';
import backwardSubgroupSource from './scan_backward_subgroup.wgsl';
import reduceTilesSource from './scan_reduce_tiles.wgsl';
import paramGradsSource from './scan_param_grads.wgsl';
import packSource from './scan_pack.wgsl';

export const scanForwardKernel: KernelSpec = { label: 'scan_forward', source: mathSource + forwardSource };
export const scanRecomputeKernel: KernelSpec = { label: 'scan_recompute', source: mathSource + recomputeSource };
export const scanGateBackwardKernel: KernelSpec = { label: 'scan_gate_backward', source: mathSource + gateBackwardSource };
export const scanReduceChannelsKernel: KernelSpec = { label: 'scan_reduce_channels', source: reduceChannelsSource };
export const scanBackwardKernel: KernelSpec = { label: 'scan_backward', source: mathSource + backwardSource };
export const scanReduceTilesKernel: KernelSpec = { label: 'scan_reduce_tiles', source: reduceTilesSource };
export const scanParamGradsKernel: KernelSpec = { label: 'scan_param_grads', source: paramGradsSource };
export const scanPackKernel: KernelSpec = { label: 'scan_pack', source: packSource };

const WORKGROUP_SIZE = 64;
/** Chunk length used when memory allows; a multiple of 64. */
const PREFERRED_CHUNK_STEPS = 256;
/** The largest N the kernels are compiled for (private arrays of N floats per invocation). */
export const MAX_STATE_SIZE = 256;
/**
 * Time steps one forward dispatch walks at most, a multiple of every chunk length. It keeps
 * each dispatch short on real GPUs (an operating system may reset a GPU whose dispatch runs
 * for seconds) while lavapipe pays its per-dispatch cost only L / 4096 times.
 */
const MAX_FORWARD_SPAN_STEPS = 4096;
/**
 * The subgroup forward keeps N named state registers and expands its loop body N times, so
 * larger states use the portable kernel.
 */
const MAX_SUBGROUP_STATE_SIZE = 64;

export interface ScanShape {
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

/** Rows of B and C: Mamba's x_proj output [dt | B | C], one row per token. */
export interface XbcView {
  tensor: Tensor;
  rowStride: number;
  bOffset: number;
  cOffset: number;
}

/** A column slice of a row-major tensor with one row per token (for example z in xz). */
export interface ColumnView {
  tensor: Tensor;
  rowStride: number;
  colOffset: number;
}

const specialized = new Map<string, KernelSpec>();

function kernelFor(kernel: KernelSpec, N: number): KernelSpec {
  const key = `${kernel.label}:${N}`;
  let spec = specialized.get(key);
  if (!spec) {
    spec = specialize(kernel, { N_STATE: N });
    specialized.set(key, spec);
  }
  return spec;
}

/** Validates the dims and returns the chunk length T used for them on this device. */
export function scanChunkSteps(ctx: GpuContext, shape: ScanShape, widestRow: number): number {
  const { B, L, DI, N, G } = shape;
  for (const [name, value] of Object.entries(shape)) {
    if (!Number.isInteger(value) || value < 1) throw new ShapeError(`scan: ${name} = ${value} must be a positive integer`);
  }
  if (DI % G !== 0) throw new ShapeError(`scan: DI = ${DI} is not a multiple of the group count G = ${G}`);
  if (N > MAX_STATE_SIZE) throw new ShapeError(`scan: N = ${N} exceeds the supported state size ${MAX_STATE_SIZE}`);

  const limit = ctx.limits.maxStorageBufferBindingSize;
  const rowBytes = B * Math.max(widestRow, DI * N) * 4;
  let steps = PREFERRED_CHUNK_STEPS;
  while (steps > 64 && (steps + 1) * rowBytes > limit) steps -= 64;
  if ((steps + 1) * rowBytes > limit) {
    throw new ShapeError(
      `scan: B = ${B}, DI = ${DI}, N = ${N} needs ${65 * rowBytes} bytes per 64-step chunk, over the ` +
        `${limit}-byte binding limit. Reduce the batch size.`,
    );
  }
  return L <= steps ? L : steps;
}

function chunkCount(L: number, steps: number): number {
  return Math.ceil(L / steps);
}

/** Byte range of rows [t0 * B, t1 * B) of a tensor whose rows have `width` floats. */
function rowRange(tensor: Tensor, B: number, width: number, t0: number, t1: number): Binding {
  return { buffer: tensor.buffer, offset: tensor.byteOffset + t0 * B * width * 4, size: (t1 - t0) * B * width * 4 };
}

function expectElements(tensor: Tensor, count: number, what: string): void {
  if (elementCount(tensor.shape) < count) {
    throw new ShapeError(`scan: ${what} "${tensor.label}" has shape [${tensor.shape}], fewer than the ${count} elements needed`);
  }
}

function checkXbc(xbc: XbcView, shape: ScanShape, what: string): void {
  const width = shape.G * shape.N;
  if (xbc.bOffset + width > xbc.rowStride || xbc.cOffset + width > xbc.rowStride) {
    throw new ShapeError(`scan: ${what} columns B@${xbc.bOffset} and C@${xbc.cOffset} of width ${width} overflow its row stride ${xbc.rowStride}`);
  }
  expectElements(xbc.tensor, shape.L * shape.B * xbc.rowStride, what);
}

function checkColumns(view: ColumnView, shape: ScanShape, what: string): void {
  if (view.colOffset + shape.DI > view.rowStride) {
    throw new ShapeError(`scan: ${what} columns ${view.colOffset}..${view.colOffset + shape.DI} overflow its row stride ${view.rowStride}`);
  }
  expectElements(view.tensor, shape.L * shape.B * view.rowStride, what);
}

/** Number of state slots a forward with saved chunk states needs: one per boundary. */
export function scanStateSlots(ctx: GpuContext, shape: ScanShape, xbcStride: number): number {
  return chunkCount(shape.L, scanChunkSteps(ctx, shape, xbcStride)) + 1;
}

/** Packs A = -exp(A_log), D and the delta bias into the (DI, N + 2) channel tensor. */
export function encodeScanPack(ctx: GpuContext, args: { DI: number; N: number; aLog: Tensor; D: Tensor; deltaBias: Tensor; channel: Tensor }): void {
  const { DI, N } = args;
  expectElements(args.aLog, DI * N, 'A_log');
  expectElements(args.D, DI, 'D');
  expectElements(args.deltaBias, DI, 'delta bias');
  expectElements(args.channel, DI * (N + 2), 'channel parameters');
  ctx.dispatch(kernelFor(scanPackKernel, N), {
    params: new Params().u32(DI),
    bindings: [args.aLog, args.D, args.deltaBias, args.channel],
    workgroups: ctx.grid(DI * (N + 2), WORKGROUP_SIZE),
  });
}

export interface ScanForwardArgs {
  /** Input u, (L, B, DI). */
  u: Tensor;
  /** Step size before bias and softplus, (L, B, DI). */
  delta: Tensor;
  xbc: XbcView;
  /** Gate; out = y * silu(z) when given. */
  z?: ColumnView | null;
  /** [A | D | delta bias] per channel, (DI, N + 2); see encodeScanPack. */
  channel: Tensor;
  /**
   * States, (slots, B, DI, N). With saveChunkStates the scan starts from slot 0 and writes
   * the state after chunk c to slot c + 1 (scanStateSlots() slots, kept for the backward);
   * without, it starts from slot 0 and leaves the final state there (generation prefill).
   */
  states: Tensor;
  saveChunkStates: boolean;
  /** Output, (L, B, DI). */
  out: Tensor;
  deltaSoftplus: boolean;
  /** When given, receives the L2 norm of each state h_t over n, (L, B, DI). */
  stateNorms?: Tensor | null;
  /**
   * 'auto' (default) uses the subgroup kernel where the device has subgroups and N is at
   * most 64; 'portable' forces scan_forward.wgsl, so tests cover both on one device.
   */
  kernel?: 'auto' | 'portable';
}

/**
 * Source of scan_forward_subgroup.wgsl for state size N and broadcast width W: the
 * statements at its `{{...}}` marks written out once per state entry n.
 */
export function expandSubgroupForward(N: number, W: number): string {
  const entries = Array.from({ length: N }, (_, n) => n);
  const loads = Math.ceil(N / W);
  const registers = Array.from({ length: loads }, (_, j) => j);
  const lines = (items: string[], indent: string) => items.join(`\n${indent}`);
  const expansions: Record<string, string> = {
    load_state: lines(
      entries.map((n) => `let a${n} = channel[channel_base + ${n}u];\n  var h${n} = states[state_base + ${n}u];`),
      '  ',
    ),
    // Lanes whose entry would be past N_STATE load entry N_STATE - 1, which no broadcast reads.
    load_bc: lines(
      registers.map(
        (j) =>
          `let b_lane${j} = xbc[b_base + min(loader + ${j * W}u, N_STATE - 1u)];\n    ` +
          `let c_lane${j} = xbc[c_base + min(loader + ${j * W}u, N_STATE - 1u)];`,
      ),
      '    ',
    ),
    update: lines(
      entries.map(
        (n) =>
          `h${n} = exp(dt * a${n}) * h${n} + dtx * subgroupBroadcast(b_lane${Math.floor(n / W)}, ${n % W}u);\n    ` +
          `y += subgroupBroadcast(c_lane${Math.floor(n / W)}, ${n % W}u) * h${n};`,
      ),
      '    ',
    ),
    sum_of_squares: entries.map((n) => `h${n} * h${n}`).join(' + '),
    store_chunk_state: lines(
      entries.map((n) => `states[chunk_base + ${n}u] = h${n};`),
      '      ',
    ),
    store_end_state: lines(
      entries.map((n) => `states[end_base + ${n}u] = h${n};`),
      '    ',
    ),
  };
  let source = forwardSubgroupSource;
  for (const [mark, text] of Object.entries(expansions)) {
    const token = `{{${mark}}}`;
    if (!source.includes(token)) throw new Error(`scan_forward_subgroup.wgsl: the mark ${token} is missing`);
    source = source.replace(token, text);
  }
  return source;
}

/**
 * Lanes that load B and C in the subgroup forward: the largest power of two up to the
 * device's smallest subgroup size (capped at 32), or 0 when the device has no subgroups.
 */
function broadcastWidth(ctx: GpuContext): number {
  if (!ctx.device.features.has('subgroups')) return 0;
  const minSize = (ctx.device as GPUDevice & { adapterInfo?: { subgroupMinSize?: number } }).adapterInfo?.subgroupMinSize;
  if (typeof minSize !== 'number' || minSize < 1) return 0;
  let width = 1;
  while (width * 2 <= Math.min(minSize, 32)) width *= 2;
  return width;
}

/** Picks the forward kernel for this device and shape; see ScanForwardArgs.kernel. */
function forwardKernelFor(ctx: GpuContext, shape: ScanShape, choice: 'auto' | 'portable'): { kernel: KernelSpec; subgroups: boolean } {
  const { B, N, G } = shape;
  const width = broadcastWidth(ctx);
  const maxPerDimension = ctx.limits.maxComputeWorkgroupsPerDimension;
  const useSubgroups = choice === 'auto' && width >= 4 && N <= MAX_SUBGROUP_STATE_SIZE && B <= maxPerDimension && G <= maxPerDimension;
  if (!useSubgroups) return { kernel: kernelFor(scanForwardKernel, N), subgroups: false };

  const key = `scan_forward_subgroup:${N}:${width}`;
  let kernel = specialized.get(key);
  if (!kernel) {
    // WGSL wants its directives before every declaration, so they move above the shared math.
    const expanded = expandSubgroupForward(N, width).split('\n');
    const isDirective = (line: string) => line.startsWith('enable ') || line.startsWith('diagnostic(');
    const source = [...expanded.filter(isDirective), mathSource, ...expanded.filter((line) => !isDirective(line))].join('\n');
    kernel = specialize({ label: 'scan_forward_subgroup', source }, { N_STATE: N, BROADCAST_WIDTH: width });
    specialized.set(key, kernel);
  }
  return { kernel, subgroups: true };
}

/**
 * Encodes the forward scan over the whole sequence, one dispatch per span of up to
 * MAX_FORWARD_SPAN_STEPS steps.
 */
export function encodeScanForward(ctx: GpuContext, shape: ScanShape, args: ScanForwardArgs): void {
  const { B, L, DI, N, G } = shape;
  const widestRow = Math.max(args.xbc.rowStride, args.z?.rowStride ?? 0);
  const steps = scanChunkSteps(ctx, shape, widestRow);
  const chunks = chunkCount(L, steps);
  expectElements(args.u, L * B * DI, 'u');
  expectElements(args.delta, L * B * DI, 'delta');
  expectElements(args.out, L * B * DI, 'out');
  expectElements(args.channel, DI * (N + 2), 'channel parameters');
  expectElements(args.states, (args.saveChunkStates ? chunks + 1 : 1) * B * DI * N, 'states');
  checkXbc(args.xbc, shape, 'xbc');
  if (args.z) checkColumns(args.z, shape, 'z');
  if (args.stateNorms) expectElements(args.stateNorms, L * B * DI, 'state norms');

  // A span is whole chunks, so the states it saves land on the chunk boundaries the
  // backward expects, and its rows must fit one binding.
  const spanRowBytes = B * Math.max(widestRow, DI) * 4;
  const chunksPerSpan = Math.max(1, Math.min(Math.floor(MAX_FORWARD_SPAN_STEPS / steps), Math.floor(ctx.limits.maxStorageBufferBindingSize / (steps * spanRowBytes))));
  const { kernel, subgroups } = forwardKernelFor(ctx, shape, args.kernel ?? 'auto');
  const workgroups: [number, number, number] | [number, number] = subgroups ? [Math.ceil(DI / G / WORKGROUP_SIZE), B, G] : ctx.grid(B * DI, WORKGROUP_SIZE);
  const z = args.z ?? { tensor: args.u, rowStride: DI, colOffset: 0 };

  for (let c0 = 0; c0 < chunks; c0 += chunksPerSpan) {
    const t0 = c0 * steps;
    const t1 = Math.min(L, t0 + chunksPerSpan * steps);
    ctx.dispatch(kernel, {
      params: new Params()
        .u32(B)
        .u32(DI)
        .u32(G)
        .u32(t1 - t0)
        .u32(args.xbc.rowStride)
        .u32(args.xbc.bOffset)
        .u32(args.xbc.cOffset)
        .u32(z.rowStride)
        .u32(z.colOffset)
        .u32(args.saveChunkStates ? c0 : 0)
        .u32(args.saveChunkStates ? c0 + 1 : 0)
        .u32(args.saveChunkStates ? steps : 0)
        .u32(args.deltaSoftplus ? 1 : 0)
        .u32(args.z ? 1 : 0)
        .u32(args.stateNorms ? 1 : 0),
      bindings: [
        rowRange(args.u, B, DI, t0, t1),
        rowRange(args.delta, B, DI, t0, t1),
        rowRange(args.xbc.tensor, B, args.xbc.rowStride, t0, t1),
        rowRange(z.tensor, B, z.rowStride, t0, t1),
        args.channel,
        args.states,
        rowRange(args.out, B, DI, t0, t1),
        args.stateNorms ? rowRange(args.stateNorms, B, DI, t0, t1) : ctx.placeholderStorage(),
      ],
      workgroups,
    });
  }
}

/**
 * Scratch memory of the backward pass, reused across calls and layers: the recomputed
 * states of one chunk (portable kernels) or the partial sums of dB and dC of one span
 * (subgroup kernel), and the per-sequence accumulators. Grows on demand; call destroy().
 */
export class ScanWorkspace {
  private scratch: Tensor | null = null;
  private accum: Tensor | null = null;
  constructor(private readonly ctx: GpuContext) {}

  buffers(scratchElements: number, accumElements: number): { scratch: Tensor; accum: Tensor } {
    // A buffer may be destroyed only after the dispatches recorded with it are submitted.
    const growScratch = !this.scratch || elementCount(this.scratch.shape) < scratchElements;
    const growAccum = !this.accum || elementCount(this.accum.shape) < accumElements;
    if ((growScratch && this.scratch) || (growAccum && this.accum)) this.ctx.submit();
    if (growScratch) {
      this.ctx.release(this.scratch);
      this.scratch = this.ctx.tensor('scan scratch', [scratchElements]);
    }
    if (growAccum) {
      this.ctx.release(this.accum);
      this.accum = this.ctx.tensor('scan accumulators', [accumElements]);
    }
    return { scratch: this.scratch!, accum: this.accum! };
  }

  destroy(): void {
    this.ctx.release(this.scratch, this.accum);
    this.scratch = null;
    this.accum = null;
  }
}

export interface ScanBackwardArgs extends Omit<ScanForwardArgs, 'out' | 'saveChunkStates'> {
  /** Gradient of the loss with respect to out, (L, B, DI). */
  dout: Tensor;
  /** Outputs: du and ddelta (L, B, DI); ddelta is with respect to delta before bias. */
  du: Tensor;
  ddelta: Tensor;
  /** Gate gradient, written into this column view; required when z is given. */
  dz?: ColumnView | null;
  /** Gradients of B and C, written at the view's B and C columns (overwritten). */
  dxbc: XbcView;
  /** Gradient of A (DI, N), or of A_log when wrtALog is set. */
  dA: Tensor;
  wrtALog: boolean;
  dD: Tensor;
  dDeltaBias: Tensor;
  workspace: ScanWorkspace;
}

/**
 * Encodes the backward scan. `states` must hold the chunk states saved by the forward
 * (saveChunkStates) for the same inputs. With `kernel` 'auto' (the default) on a device
 * with subgroups, scan_backward_subgroup.wgsl walks spans of chunks backward in two
 * dispatches per span (see planSubgroupBackward). Otherwise, or with 'portable', the
 * portable kernels run in five dispatches per chunk, last chunk first. Both paths end with
 * scan_param_grads.
 */
export function encodeScanBackward(ctx: GpuContext, shape: ScanShape, args: ScanBackwardArgs): void {
  const { B, L, DI, N, G } = shape;
  const widest = Math.max(args.xbc.rowStride, args.dxbc.rowStride, args.z?.rowStride ?? 0, args.dz?.rowStride ?? 0);
  const steps = scanChunkSteps(ctx, shape, widest);
  const chunks = chunkCount(L, steps);
  for (const [tensor, what] of [
    [args.u, 'u'],
    [args.delta, 'delta'],
    [args.dout, 'dout'],
    [args.du, 'du'],
    [args.ddelta, 'ddelta'],
  ] as const) {
    expectElements(tensor, L * B * DI, what);
  }
  expectElements(args.channel, DI * (N + 2), 'channel parameters');
  expectElements(args.states, (chunks + 1) * B * DI * N, 'saved chunk states');
  expectElements(args.dA, DI * N, 'dA');
  expectElements(args.dD, DI, 'dD');
  expectElements(args.dDeltaBias, DI, 'ddelta_bias');
  checkXbc(args.xbc, shape, 'xbc');
  checkXbc(args.dxbc, shape, 'dxbc');
  if (args.z) {
    checkColumns(args.z, shape, 'z');
    if (!args.dz) throw new ShapeError('scan backward: dz is required when the forward had a gate z');
    checkColumns(args.dz, shape, 'dz');
  }
  if (args.dxbc.tensor.buffer === args.xbc.tensor.buffer) {
    throw new ShapeError('scan backward: dxbc must not alias xbc');
  }

  const accumElements = B * DI * (2 * N + 2);
  const subgroupPlan = (args.kernel ?? 'auto') === 'auto' ? planSubgroupBackward(ctx, shape, steps, widest) : null;
  const scratchElements = subgroupPlan ? subgroupPlan.partialElements : (steps + 1) * B * DI * N;
  const { scratch, accum } = args.workspace.buffers(scratchElements, accumElements);
  const accumView: Tensor = { ...accum, shape: [accumElements] };
  ctx.clear(accumView);

  if (subgroupPlan) {
    encodeSubgroupBackward(ctx, shape, args, subgroupPlan, scratch, accumView);
  } else {
    encodePortableBackward(ctx, shape, args, steps, scratch, accumView);
  }

  ctx.dispatch(kernelFor(scanParamGradsKernel, N), {
    params: new Params().u32(B).u32(DI).u32(args.wrtALog ? 1 : 0),
    bindings: [accumView, args.channel, args.dA, args.dD, args.dDeltaBias],
    workgroups: ctx.grid(DI * (N + 1), WORKGROUP_SIZE),
  });
}

/** Encodes the five portable kernels per chunk, last chunk first; see encodeScanBackward. */
function encodePortableBackward(ctx: GpuContext, shape: ScanShape, args: ScanBackwardArgs, steps: number, scratch: Tensor, accumView: Tensor): void {
  const { B, L, DI, N, G } = shape;
  const chunks = chunkCount(L, steps);
  const z = args.z ?? { tensor: args.u, rowStride: DI, colOffset: 0 };
  const dz = args.dz ?? { tensor: args.ddelta, rowStride: DI, colOffset: 0 };
  const softplus = args.deltaSoftplus ? 1 : 0;
  const channelGrid = ctx.grid(B * DI, WORKGROUP_SIZE);

  for (let c = chunks - 1; c >= 0; c--) {
    const t0 = c * steps;
    const t1 = Math.min(L, t0 + steps);
    const chunkSteps = t1 - t0;
    const rows = (tensor: Tensor, width: number) => rowRange(tensor, B, width, t0, t1);
    const scratchRange: Binding = { buffer: scratch.buffer, offset: scratch.byteOffset, size: (chunkSteps + 1) * B * DI * N * 4 };

    ctx.dispatch(kernelFor(scanRecomputeKernel, N), {
      params: new Params().u32(B).u32(DI).u32(G).u32(chunkSteps).u32(args.xbc.rowStride).u32(args.xbc.bOffset).u32(c).u32(softplus),
      bindings: [rows(args.u, DI), rows(args.delta, DI), rows(args.xbc.tensor, args.xbc.rowStride), args.channel, args.states, scratchRange],
      workgroups: channelGrid,
    });

    ctx.dispatch(kernelFor(scanGateBackwardKernel, N), {
      params: new Params()
        .u32(B)
        .u32(DI)
        .u32(G)
        .u32(chunkSteps)
        .u32(args.xbc.rowStride)
        .u32(args.xbc.cOffset)
        .u32(z.rowStride)
        .u32(z.colOffset)
        .u32(dz.rowStride)
        .u32(dz.colOffset)
        .u32(args.z ? 1 : 0),
      bindings: [
        rows(args.u, DI),
        rows(args.xbc.tensor, args.xbc.rowStride),
        rows(z.tensor, z.rowStride),
        args.channel,
        scratchRange,
        rows(args.dout, DI),
        rows(dz.tensor, dz.rowStride),
        rows(args.du, DI),
      ],
      workgroups: ctx.grid(chunkSteps * B * DI, WORKGROUP_SIZE),
    });

    const reduceGrid = ctx.grid(chunkSteps * B * G * N, WORKGROUP_SIZE);
    ctx.dispatch(kernelFor(scanReduceChannelsKernel, N), {
      params: new Params().u32(B).u32(DI).u32(G).u32(chunkSteps).u32(args.dxbc.rowStride).u32(args.dxbc.cOffset).u32(1),
      bindings: [rows(args.du, DI), scratchRange, rows(args.dxbc.tensor, args.dxbc.rowStride)],
      workgroups: reduceGrid,
    });

    ctx.dispatch(kernelFor(scanBackwardKernel, N), {
      params: new Params()
        .u32(B)
        .u32(DI)
        .u32(G)
        .u32(chunkSteps)
        .u32(args.xbc.rowStride)
        .u32(args.xbc.bOffset)
        .u32(args.xbc.cOffset)
        .u32(softplus),
      bindings: [
        rows(args.u, DI),
        rows(args.delta, DI),
        rows(args.xbc.tensor, args.xbc.rowStride),
        args.channel,
        scratchRange,
        accumView,
        rows(args.du, DI),
        rows(args.ddelta, DI),
      ],
      workgroups: channelGrid,
    });

    ctx.dispatch(kernelFor(scanReduceChannelsKernel, N), {
      params: new Params().u32(B).u32(DI).u32(G).u32(chunkSteps).u32(args.dxbc.rowStride).u32(args.dxbc.bOffset).u32(0),
      bindings: [rows(args.du, DI), scratchRange, rows(args.dxbc.tensor, args.dxbc.rowStride)],
      workgroups: reduceGrid,
    });
  }
}

/**
 * Steps of history the subgroup backward keeps in private memory per segment. Larger
 * segments mean fewer segment states but more private memory per invocation.
 */
const BACKWARD_SEGMENT_STEPS = 16;
/**
 * The subgroup backward keeps several named registers per state entry and expands its
 * loop bodies N times, so larger states use the portable kernels.
 */
const MAX_SUBGROUP_BACKWARD_STATE_SIZE = 32;
/** Time steps one backward dispatch walks at most; see MAX_FORWARD_SPAN_STEPS. */
const MAX_BACKWARD_SPAN_STEPS = 4096;
/** Maximum bytes of one span's dB and dC partial sums. */
const MAX_PARTIAL_BYTES = 64 * 1024 * 1024;
/**
 * Channels each invocation of the subgroup backward walks when N is at most
 * MAX_SHARED_CHANNELS_STATE_SIZE, else 1. Two channels share the loads and broadcasts of B
 * and C, and the workgroup's dB and dC sums cover twice the channels: one layer's backward
 * at B=4 L=4096 DI=128 N=16 took 0.93x the time of one channel per lane (whole-process
 * wall time, median of 7 pairs, lavapipe). The expanded kernel doubles, and so does its
 * compile time, hence the limit on N.
 */
const BACKWARD_CHANNELS_PER_LANE = 2;
const MAX_SHARED_CHANNELS_STATE_SIZE = 16;
/** Storage buffers that scan_backward_subgroup.wgsl binds. */
const SUBGROUP_BACKWARD_BINDINGS = 12;

/** Span and tile sizes of the subgroup backward; see planSubgroupBackward. */
export interface SubgroupBackwardPlan {
  /** Lanes per workgroup, which load B and C and share the dB and dC sums. */
  width: number;
  /** Channels per lane; a workgroup covers width * channelsPerLane channels. */
  channelsPerLane: number;
  /** Workgroups per group of channels. */
  tiles: number;
  /** Floats per tile and token in the partial sums: 2 N rounded up to a multiple of width. */
  partialWidth: number;
  chunkSteps: number;
  /** Steps per dispatch, a multiple of chunkSteps. */
  spanSteps: number;
  /** Scratch floats for one span's partial sums. */
  partialElements: number;
}

/**
 * Returns the plan of the subgroup backward for this device and shape, or null where it
 * cannot run. It cannot run without subgroups of at least 4 lanes, with N above
 * MAX_SUBGROUP_BACKWARD_STATE_SIZE or with too few storage bindings. Nor can it run when
 * the partial sums of one chunk exceed MAX_PARTIAL_BYTES or the binding limit.
 */
export function planSubgroupBackward(ctx: GpuContext, shape: ScanShape, chunkSteps: number, widestRow: number): SubgroupBackwardPlan | null {
  const { B, L, DI, N, G } = shape;
  const width = broadcastWidth(ctx);
  if (width < 4 || N > MAX_SUBGROUP_BACKWARD_STATE_SIZE) return null;
  if (ctx.limits.maxStorageBuffersPerShaderStage < SUBGROUP_BACKWARD_BINDINGS) return null;
  const channelsPerLane = N <= MAX_SHARED_CHANNELS_STATE_SIZE ? BACKWARD_CHANNELS_PER_LANE : 1;
  const tiles = Math.ceil(DI / G / (width * channelsPerLane));
  const maxPerDimension = ctx.limits.maxComputeWorkgroupsPerDimension;
  if (tiles > maxPerDimension || B > maxPerDimension || G > maxPerDimension) return null;

  const partialWidth = Math.ceil((2 * N) / width) * width;
  const partialBytesPerStep = B * G * tiles * partialWidth * 4;
  const rowBytesPerStep = B * Math.max(widestRow, DI) * 4;
  const bindingLimit = ctx.limits.maxStorageBufferBindingSize;
  const chunksFitting = Math.min(
    Math.floor(MAX_BACKWARD_SPAN_STEPS / chunkSteps),
    Math.floor(Math.min(MAX_PARTIAL_BYTES, bindingLimit) / (chunkSteps * partialBytesPerStep)),
    Math.floor(bindingLimit / (chunkSteps * rowBytesPerStep)),
  );
  if (chunksFitting < 1) return null;
  const spanSteps = Math.min(chunksFitting * chunkSteps, Math.ceil(L / chunkSteps) * chunkSteps);
  return { width, channelsPerLane, tiles, partialWidth, chunkSteps, spanSteps, partialElements: Math.min(spanSteps, L) * B * G * tiles * partialWidth };
}

/**
 * Source of scan_backward_subgroup.wgsl for state size N, width W and channelsPerLane: the
 * statements at its `{{...}}` marks written out once per state entry n, the reduce-scatter
 * of the 2 N partial sums over W lanes, and each {{#channels}} block once per channel.
 */
export function expandSubgroupBackward(N: number, W: number, channelsPerLane: number): string {
  const entries = Array.from({ length: N }, (_, n) => n);
  const channels = Array.from({ length: channelsPerLane }, (_, c) => c);
  const loads = Array.from({ length: Math.ceil(N / W) }, (_, j) => j);
  const partialWidth = Math.ceil((2 * N) / W) * W;
  const lines = (items: string[], indent: string) => items.join(`\n${indent}`);
  const broadcast = (register: string, n: number) => `subgroupBroadcast(${register}${Math.floor(n / W)}, ${n % W}u)`;
  // Lanes whose entry would be past N_STATE load entry N_STATE - 1, which no broadcast reads.
  // Every entry is broadcast once per step, and the lane's channels share it.
  const loadRow = (register: string, base: string, shared: string) => [
    ...loads.map((j) => `let ${register}${j} = xbc[${base} + min(loader + ${j * W}u, N_STATE - 1u)];`),
    ...entries.map((n) => `let ${shared}${n} = ${broadcast(register, n)};`),
  ];

  // Reduce-scatter: at the stage of mask m, a lane keeps the half of its values that its
  // bit m selects and adds the partner's copy of that half, so after log2(W) stages lane k
  // contains the sums of entries k * partialWidth / W onwards.
  const reduce: string[] = [];
  const sumChannels = (name: string, n: number) => channels.map((c) => `live${c} * ${name}${c}_${n}`).join(' + ');
  let values = [...entries.map((n) => sumChannels('pb', n)), ...entries.map((n) => sumChannels('pc', n))];
  while (values.length < partialWidth) values.push('0.0');
  let stage = 0;
  for (let mask = W / 2; mask >= 1; mask /= 2) {
    const half = values.length / 2;
    reduce.push(`let upper${stage} = (loader & ${mask}u) != 0u;`);
    const next: string[] = [];
    for (let i = 0; i < half; i++) {
      const name = `r${stage}_${i}`;
      reduce.push(`let ${name} = select(${values[i]}, ${values[i + half]}, upper${stage}) + subgroupShuffleXor(select(${values[i + half]}, ${values[i]}, upper${stage}), ${mask}u);`);
      next.push(name);
    }
    values = next;
    stage++;
  }

  // Per-channel statements name their registers with `$`, which the {{#channels}} blocks
  // replace by the channel's number.
  const expansions: Record<string, string> = {
    declare: lines(
      entries.map((n) => `let a$_${n} = channel[channel_base$ + ${n}u];\n  var g$_${n} = accum[accum_base$ + ${n}u];\n  var da$_${n} = 0.0;\n  var h$_${n} = 0.0;\n  var st$_${n} = 0.0;`),
      '  ',
    ),
    load_chunk_state: lines(
      entries.map((n) => `h$_${n} = states[state_base$ + ${n}u];`),
      '    ',
    ),
    save_segment_state: lines(
      entries.map((n) => `segment_states$[segment][${n}] = h$_${n};`),
      '        ',
    ),
    load_b: lines(loadRow('b_lane', 'b_base', 'bn'), '        '),
    load_c: lines(loadRow('c_lane', 'c_base', 'cn'), '        '),
    forward_update: lines(
      entries.map((n) => `h$_${n} = exp(dt$ * a$_${n}) * h$_${n} + dtx$ * bn${n};`),
      '        ',
    ),
    load_segment_state: lines(
      entries.map((n) => `h$_${n} = segment_states$[segment][${n}];\n      st$_${n} = h$_${n};`),
      '      ',
    ),
    save_history: lines(
      entries.map((n) => `history$[j][${n}] = h$_${n};`),
      '        ',
    ),
    output: lines(
      entries.map((n) => `y$ += cn${n} * h$_${n};`),
      '        ',
    ),
    backward_update: lines(
      entries.map((n) =>
        [
          `let hp$_${n} = select(history$[previous][${n}], st$_${n}, first);`,
          `g$_${n} += dy$ * cn${n};`,
          `let decay$_${n} = exp(dt$ * a$_${n});`,
          `ddt$ += g$_${n} * (decay$_${n} * a$_${n} * hp$_${n} + bn${n} * x$);`,
          `da$_${n} += g$_${n} * decay$_${n} * dt$ * hp$_${n};`,
          `gdtb$ += g$_${n} * bn${n};`,
          `let pb$_${n} = g$_${n} * dtx$;`,
          `let pc$_${n} = dy$ * h$_${n};`,
          `g$_${n} *= decay$_${n};`,
          `h$_${n} = hp$_${n};`,
        ].join('\n        '),
      ),
      '        ',
    ),
    reduce_scatter: lines(reduce, '        '),
    store_partials: lines(
      values.map((name, i) => `partials[partial_base + ${i}u] = ${name};`),
      '        ',
    ),
    // The registers are gathered into arrays that one loop stores.
    gather_accum: lines(
      entries.map((n) => `carry$[${n}] = g$_${n};\n  gradient_a$[${n}] = da$_${n};`),
      '  ',
    ),
  };
  let source = backwardSubgroupSource;
  for (const [mark, text] of Object.entries(expansions)) {
    const token = `{{${mark}}}`;
    if (!source.includes(token)) throw new Error(`scan_backward_subgroup.wgsl: the mark ${token} is missing`);
    source = source.split(token).join(text);
  }
  return source.replace(/\{\{#channels\}\}\n([\s\S]*?)\n\s*\{\{\/channels\}\}/g, (_, block: string) => channels.map((c) => block.split('$').join(String(c))).join('\n'));
}

function subgroupBackwardKernel(N: number, plan: SubgroupBackwardPlan): KernelSpec {
  const key = `scan_backward_subgroup:${N}:${plan.width}:${plan.channelsPerLane}`;
  let kernel = specialized.get(key);
  if (!kernel) {
    // WGSL wants its directives before every declaration, so they move above the shared math.
    const expanded = expandSubgroupBackward(N, plan.width, plan.channelsPerLane).split('\n');
    const isDirective = (line: string) => line.startsWith('enable ') || line.startsWith('diagnostic(');
    const source = [...expanded.filter(isDirective), mathSource, ...expanded.filter((line) => !isDirective(line))].join('\n');
    kernel = specialize(
      { label: 'scan_backward_subgroup', source },
      {
        N_STATE: N,
        BROADCAST_WIDTH: plan.width,
        CHANNELS_PER_LANE: plan.channelsPerLane,
        PARTIAL_WIDTH: plan.partialWidth,
        SEGMENT_STEPS: BACKWARD_SEGMENT_STEPS,
        // Chunks are at most PREFERRED_CHUNK_STEPS long, so one kernel serves every L.
        MAX_SEGMENTS: Math.ceil(PREFERRED_CHUNK_STEPS / BACKWARD_SEGMENT_STEPS),
      },
    );
    specialized.set(key, kernel);
  }
  return kernel;
}

/** Two dispatches per span, last span first: scan_backward_subgroup, then scan_reduce_tiles. */
function encodeSubgroupBackward(ctx: GpuContext, shape: ScanShape, args: ScanBackwardArgs, plan: SubgroupBackwardPlan, scratch: Tensor, accumView: Tensor): void {
  const { B, L, DI, N, G } = shape;
  const kernel = subgroupBackwardKernel(N, plan);
  const reduceKernel = kernelFor(scanReduceTilesKernel, N);
  const z = args.z ?? { tensor: args.u, rowStride: DI, colOffset: 0 };
  const dz = args.dz ?? { tensor: args.ddelta, rowStride: 0, colOffset: 0 };
  const spans = Math.ceil(L / plan.spanSteps);

  for (let span = spans - 1; span >= 0; span--) {
    const t0 = span * plan.spanSteps;
    const t1 = Math.min(L, t0 + plan.spanSteps);
    const rows = (tensor: Tensor, width: number) => rowRange(tensor, B, width, t0, t1);
    const partials: Binding = { buffer: scratch.buffer, offset: scratch.byteOffset, size: (t1 - t0) * B * G * plan.tiles * plan.partialWidth * 4 };

    ctx.dispatch(kernel, {
      params: new Params(16)
        .u32(B)
        .u32(DI)
        .u32(G)
        .u32(t1 - t0)
        .u32(plan.chunkSteps)
        .u32(t0 / plan.chunkSteps)
        .u32(args.xbc.rowStride)
        .u32(args.xbc.bOffset)
        .u32(args.xbc.cOffset)
        .u32(z.rowStride)
        .u32(z.colOffset)
        .u32(dz.rowStride)
        .u32(dz.colOffset)
        .u32(args.deltaSoftplus ? 1 : 0)
        .u32(args.z ? 1 : 0)
        .u32(plan.tiles),
      bindings: [
        rows(args.u, DI),
        rows(args.delta, DI),
        rows(args.xbc.tensor, args.xbc.rowStride),
        rows(z.tensor, z.rowStride),
        args.channel,
        args.states,
        rows(args.dout, DI),
        // Without a gate nothing is written to dz, and binding ddelta there would alias it.
        args.dz ? rows(dz.tensor, dz.rowStride) : ctx.placeholderStorage(),
        rows(args.du, DI),
        rows(args.ddelta, DI),
        accumView,
        partials,
      ],
      workgroups: [plan.tiles, B, G],
    });

    const outputs = (t1 - t0) * B * G * 2 * N;
    const [groupsX, groupsY] = ctx.grid(outputs, WORKGROUP_SIZE);
    ctx.dispatch(reduceKernel, {
      params: new Params()
        .u32((t1 - t0) * B)
        .u32(G)
        .u32(plan.tiles)
        .u32(plan.partialWidth)
        .u32(args.dxbc.rowStride)
        .u32(args.dxbc.bOffset)
        .u32(args.dxbc.cOffset)
        .u32(groupsX),
      bindings: [partials, rows(args.dxbc.tensor, args.dxbc.rowStride)],
      workgroups: [groupsX, groupsY],
    });
  }
}
