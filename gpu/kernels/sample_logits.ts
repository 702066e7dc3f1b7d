// Sampling of the next code per stream on the GPU, for generators that step through the
// model with separate kernels (the SaShiMi generator). The fused flat generator samples
// inside its own kernel by the same rule, and sampler.ts is the CPU reference of both.
//
// When V splits into whole vec4s of every lane, a workgroup of lanes samples each stream
// with the generator kernel's own sampler (kernel.ts, buildSamplerKernel). Otherwise one
// invocation per stream walks the classes serially (sample_logits.wgsl). On lavapipe the
// serial walk took about a fifth of a U-Net sample at top-p 0.95, its 30 bisection passes
// over V classes running on one lane.
import { Params, ShapeError, type GpuContext, type KernelSpec, type Tensor } from '../context';
import samplerSource from '../generate/sampler.wgsl';
import { checkDim, checkLength, checkNoAlias } from './matrix_view';
import { chooseLanes } from '../generate/generator';
import { buildSamplerKernel } from '../generate/kernel';
import source from './sample_logits.wgsl';
import { wgslConstant } from './wgsl_constants';

export const sampleLogitsKernel: KernelSpec = { label: 'sample_logits', source: samplerSource + source };

const WORKGROUP_SIZE = wgslConstant(source, 'WORKGROUP_SIZE');
const BISECTION_STEPS = wgslConstant(source, 'NUCLEUS_BISECTION_STEPS');
/** Mesa's OpenGL ES path ends an invocation's loops after 65,535 iterations in all. */
const LOOP_ITERATION_LIMIT = 65535;

export interface SampleLogitsArgs {
  B: number;
  /** Classes V. */
  V: number;
  /** Logits (B, V). */
  logits: Tensor;
  /** Receives the codes (B), u32. */
  current: Tensor;
  /** Receives the codes at row outRow of a (rows, B) u32 tensor. */
  codes: Tensor;
  outRow: number;
  /** Draw counter: samples generated since reset. */
  counter: number;
  seed: number;
  /** Softmax temperature, 0 for greedy. */
  temperature: number;
  /** Nucleus mass in (0, 1]. */
  topP: number;
}

/** Returns the lane-parallel sampler for V classes on this device, built once per V, or null when V does not split into lanes. */
function laneSampler(ctx: GpuContext, V: number): KernelSpec | null {
  const key = `${V}`;
  let kernels = laneSamplers.get(ctx);
  if (!kernels) {
    kernels = new Map();
    laneSamplers.set(ctx, kernels);
  }
  if (!kernels.has(key)) {
    const { lanes, subgroups } = chooseLanes(ctx, V);
    const usable = V % (4 * lanes) === 0;
    const kernel = usable ? buildSamplerKernel({ V, lanes, subgroups }) : null;
    kernels.set(key, kernel && kernel.workgroupBytes <= ctx.limits.maxComputeWorkgroupStorageSize ? { label: kernel.label, source: kernel.source } : null);
  }
  return kernels.get(key)!;
}

const laneSamplers = new WeakMap<GpuContext, Map<string, KernelSpec | null>>();

/** Records the sampling of one code per stream. */
export function encodeSampleLogits(ctx: GpuContext, args: SampleLogitsArgs): void {
  const label = sampleLogitsKernel.label;
  const { B, V } = args;
  checkDim(label, 'B', B);
  checkDim(label, 'V', V);
  if ((BISECTION_STEPS + 4) * V > LOOP_ITERATION_LIMIT) {
    throw new ShapeError(`${label}: V = ${V} classes need ${(BISECTION_STEPS + 4) * V} loop iterations per stream, over ${LOOP_ITERATION_LIMIT}; use at most ${Math.floor(LOOP_ITERATION_LIMIT / (BISECTION_STEPS + 4))} classes.`);
  }
  checkLength(label, 'logits', args.logits, B * V);
  checkLength(label, 'current', args.current, B);
  checkLength(label, 'codes', args.codes, (args.outRow + 1) * B);
  checkNoAlias(label, args.current, 'current', { logits: args.logits, codes: args.codes });
  checkNoAlias(label, args.codes, 'codes', { logits: args.logits });
  const params = new Params().u32(B).u32(V).u32(args.counter >>> 0).u32(args.seed >>> 0).f32(args.temperature).f32(args.topP).u32(args.outRow);
  const lanesKernel = laneSampler(ctx, V);
  if (lanesKernel && B <= ctx.limits.maxComputeWorkgroupsPerDimension) {
    ctx.dispatch(lanesKernel, { params, bindings: [args.logits, args.current, args.codes], workgroups: [B] });
    return;
  }
  ctx.dispatch(sampleLogitsKernel, { params, bindings: [args.logits, args.current, args.codes], workgroups: [Math.ceil(B / WORKGROUP_SIZE)] });
}
