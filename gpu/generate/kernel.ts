// Generates the WGSL of the multi-step generator kernel for one model shape.
//
// One workgroup of W lanes runs S streams through `step_count` recurrent steps, every
// layer and the head, with the weights read from the packed texture (pack.ts). W is at
// most the subgroup size, so the whole workgroup is one subgroup and lanes exchange values
// with subgroup operations: the kernel has no barrier and no workgroup memory. (Without
// subgroups the same exchanges go through workgroup memory and barriers.) On lavapipe a
// workgroup runs on one CPU thread in 8-lane SIMD chunks, so W = 8 fills one chunk, and
// separate workgroups (streams) run on separate cores.
//
// Lanes split every vector into blocks:
//   residual x (D):     lane j owns x[j * E .. (j + 1) * E), E = D / W, as Q = E / 4 vec4
//   channels (DI):      lane j owns channels d = m * W + j, m < M = DI / W
//   logits (VP):        lane j owns classes [j * VW, (j + 1) * VW), VW = VP / W
// One layer of one step:
//   1. RMSNorm of x (a sum over lanes), then every lane gathers the whole normalised x.
//   2. Loop A over the lane's channels: in_proj row of xi, the conv state shifted and
//      stored, u = silu(conv1d), and the lane's partial sums of x_proj. A sum over lanes
//      gives [dt | B | C] to every lane.
//   3. Loop B over the lane's channels: in_proj row of z, u again from the conv state,
//      delta, the SSM update of N states, y, and the lane's partial sums of out_proj for
//      all D outputs. A reduce-scatter over lanes leaves each lane its E outputs for x.
// The head: final RMSNorm and gather, then each lane computes its VW logits, 4 per loop
// iteration, into the logits buffer. The next step's sampler reads them from there.
//
// Shaped by what lavapipe (Mesa 25.0, LLVM 15) compiles slowly: each storage store site
// costs about 0.2 s of compile time and each subgroupAdd about 0.3 s, while a texture
// load, a shuffle or an FMA costs a few milliseconds. So state moves in vec4s, reductions
// are shuffle butterflies, and the logits are written from one store site in a loop.
//
// Loops stay few and short, because Mesa's OpenGL ES path (22.3) ends every loop of an
// invocation silently once all its loops together ran 65,535 iterations:
// loopIterationsPerStep lets the host bound the steps of one dispatch.
import { ShapeError } from '../context';
import type { WeightLayout } from './pack';
import { SubgroupCollectives, WorkgroupCollectives, WgslWriter, type Collectives } from './collectives';
import mathSource from '../kernels/scan_math.wgsl';
import samplerSource from './sampler.wgsl';

export interface KernelPlan {
  layout: WeightLayout;
  /**
   * 'generate' (default): embedding, layers, head and sampler over step_count steps.
   * 'stage': one step of the layers alone, on the residual x (B, D) in the `stage_x`
   * buffer, overwritten with the layers' output: a stage of a SaShiMi U-Net (stage-kernel.ts).
   */
  role?: 'generate' | 'stage';
  /** The 'stage' role's distance between two layers' states, in vec4s: at least B * DI * KT and B * DI * NQ. */
  stageStates?: { convLayerVec4: number; ssmLayerVec4: number };
  /** The 'stage' role's work around the layers; each part saves the dispatches that would do it alone. */
  stageIo?: StageIo;
  nLayers: number;
  rmsNormEps: number;
  /** Lanes W per workgroup: a power of two, at most the subgroup size when subgroups are used. */
  lanes: number;
  /** Streams S per workgroup, sharing every weight fetch. */
  streams: number;
  /** Write delta, gate and state norm per layer and channel (the traces variant). */
  traces: boolean;
  subgroups: boolean;
}

/** The parts of a 'stage' kernel around its layers. Without any, it runs the layers on stage_x in place. */
export interface StageIo {
  /** Start from the embedding row of the code in stage_codes (B) u32 instead of reading stage_x. */
  embed?: boolean;
  /**
   * Pool factor p of the stage's level, for a down stage of a U-Net. After the layers, x
   * goes to column block j of stage_down (B, p * D), and stage_x gets x plus column block
   * j of stage_up. The stage_slot uniform contains j.
   */
  pool?: number;
  /** End with the final RMSNorm and the head, into stage_logits (B, VP), instead of writing x. */
  head?: boolean;
}

export interface GeneratedKernel {
  label: string;
  source: string;
  /** Loop iterations one invocation runs per step, for the OpenGL ES loop limit. */
  loopIterationsPerStep: number;
  /** Workgroup memory the kernel declares, in bytes. */
  workgroupBytes: number;
}

/** Bisection steps over the bit patterns of floats in [0, 1]: 0x3f800000 < 2^30. */
const NUCLEUS_BISECTION_STEPS = 30;

/** Binding numbers, shared with generator.ts. */
export const BINDING = {
  params: 0,
  layerTable: 1,
  weights: 2,
  ssm: 3,
  conv: 4,
  inputs: 5,
  codes: 6,
  logits: 7,
  traces: 8,
  /** The 'stage' role's residual x (B, D), in place of inputs, codes and logits. */
  stageX: 9,
  /** The 'stage' role's optional parts (StageIo). */
  stageCodes: 10,
  stageDown: 11,
  stageUp: 12,
  stageSlot: 13,
  stageLogits: 14,
} as const;

/** Bytes of the Params struct below. */
export const PARAMS_BYTES = 48;

/** Conv state floats per channel: K rounded up to a multiple of 4. */
export function convStride(layout: WeightLayout): number {
  return layout.KT * 4;
}

/** Checks that the model's widths split into blocks of W lanes; throws ShapeError otherwise. */
export function checkLanes(layout: WeightLayout, lanes: number): void {
  if (!Number.isInteger(Math.log2(lanes))) throw new ShapeError(`generator: ${lanes} lanes is not a power of two`);
  if (layout.lanes !== lanes) throw new ShapeError(`generator: the weights are interleaved for ${layout.lanes} lanes, not ${lanes}`);
  if (layout.D % 4 !== 0) {
    throw new ShapeError(`generator: dModel = ${layout.D} is not a multiple of 4; the generator reads weights 4 at a time.`);
  }
  if (layout.D % (4 * lanes) !== 0) {
    throw new ShapeError(`generator: dModel = ${layout.D} must be a multiple of 4 * ${lanes} lanes; use fewer lanes.`);
  }
  if (layout.K > 8) throw new ShapeError(`generator: dConv = ${layout.K}; the generator supports widths up to 8.`);
}

function f32Literal(value: number): string {
  return Number.isInteger(value) ? `${value}.0` : value.toExponential(9);
}

const COMPONENTS = ['x', 'y', 'z', 'w'];
const NONE = '0xffffffffu';

/** Names `prefix0 .. prefix{count-1}`. */
function names(prefix: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${i}`);
}

/** FNV-1a of the source, to give each generated variant a distinct pipeline-cache label. */
function hashText(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, '0');
}

/**
 * Writes the sampler: the code of stream `stream` into `code` (a WGSL var), from the
 * stream's VP logits, of which each lane loads VQ vec4s with `loadLogits(q)` (its VW
 * classes lane * VW ..). It reads p.temperature, p.top_p, p.seed and p.counter + t, so the
 * caller declares p and t; sampler.ts states the rule and sampler.wgsl's sample_uniform is
 * prepended.
 */
function emitSamplerCode(out: WgslWriter, collectives: Collectives, shape: { VQ: number; VW: number }, loadLogits: (q: number) => string): void {
  const { VQ, VW } = shape;
  const s = '';
  for (let q = 0; q < VQ; q++) out.line(`let lg${s}_${q} = ${loadLogits(q)};`);

  // Greedy: the lane's first maximum, then the lowest class among lanes holding the maximum.
  out.line(`let lane_max4_${s} = ${names(`lg${s}_`, VQ).reduce((a, b) => `max(${a}, ${b})`)};`);
  out.line(`let lane_max${s} = max(max(lane_max4_${s}.x, lane_max4_${s}.y), max(lane_max4_${s}.z, lane_max4_${s}.w));`);
  out.line(`var first${s} = ${NONE};`);
  for (let q = VQ - 1; q >= 0; q--) {
    const eq = `eq${s}_${q}`;
    out.line(`let ${eq} = lg${s}_${q} == vec4f(lane_max${s});`);
    const within = `select(select(select(${4 * q + 3}u, ${4 * q + 2}u, ${eq}.z), ${4 * q + 1}u, ${eq}.y), ${4 * q}u, ${eq}.x)`;
    out.line(`first${s} = select(first${s}, ${within}, any(${eq}));`);
  }
  collectives.maxF32(out, `top${s}`, `lane_max${s}`);
  collectives.minU32(out, `greedy${s}`, `select(${NONE}, lane * ${VW}u + first${s}, lane_max${s} == top${s})`);
  out.line(`code = greedy${s};`);

  out.block('if (p.temperature > 0.0)', () => {
    out.line(`let inv_t${s} = 1.0 / p.temperature;`);
    for (let q = 0; q < VQ; q++) out.line(`let pr${s}_${q} = exp((lg${s}_${q} - vec4f(top${s})) * inv_t${s});`);
    out.line(`var tau${s} = 0.0;`);
    out.block('if (p.top_p < 1.0)', () => {
      out.line(`let local${s} = ${names(`pr${s}_`, VQ).map((v) => `dot(${v}, vec4f(1.0))`).join(' + ')};`);
      collectives.sumF32(out, `all${s}`, `local${s}`);
      out.line(`let wanted${s} = p.top_p * all${s};`);
      // Largest tau whose tail mass is >= wanted: bisection over the bit patterns of
      // non-negative floats, which sort like the floats. Invariant: mass(lo) >= wanted,
      // true for lo = 0; once lo == hi, mid == lo and nothing changes.
      out.line(`var lo${s} = 0u;`);
      out.line(`var hi${s} = 0x3f800000u;`);
      out.block(`for (var it = 0u; it < ${NUCLEUS_BISECTION_STEPS}u; it++)`, () => {
        out.line(`let mid${s} = lo${s} + (hi${s} - lo${s} + 1u) / 2u;`);
        out.line(`let cut${s} = vec4f(bitcast<f32>(mid${s}));`);
        const terms = names(`pr${s}_`, VQ).map((v) => `dot(select(vec4f(0.0), ${v}, ${v} >= cut${s}), vec4f(1.0))`);
        out.line(`let tail${s} = ${terms.join(' + ')};`);
        collectives.sumF32(out, `tail_all${s}`, `tail${s}`);
        out.line(`let keep${s} = tail_all${s} >= wanted${s};`);
        out.line(`lo${s} = select(lo${s}, mid${s}, keep${s});`);
        out.line(`hi${s} = select(max(mid${s}, 1u) - 1u, hi${s}, keep${s});`);
      });
      out.line(`tau${s} = bitcast<f32>(lo${s});`);
    });

    // The nucleus, and a walk through its running mass in class order.
    for (let q = 0; q < VQ; q++) out.line(`let nw${s}_${q} = select(vec4f(0.0), pr${s}_${q}, pr${s}_${q} >= vec4f(tau${s}));`);
    out.line(`var lane_mass${s} = 0.0;`);
    for (let q = 0; q < VQ; q++) out.line(`lane_mass${s} = ((((lane_mass${s} + nw${s}_${q}.x) + nw${s}_${q}.y) + nw${s}_${q}.z) + nw${s}_${q}.w);`);
    collectives.scanF32(out, `before${s}`, `mass${s}`, `lane_mass${s}`);
    out.line(`let r${s} = sample_uniform(p.seed, stream, p.counter + t) * mass${s};`);
    out.line(`var run${s} = before${s};`);
    out.line(`var pick${s} = ${NONE};`);
    for (let q = 0; q < VQ; q++) {
      const w = `nw${s}_${q}`;
      out.line(`let run${s}_${q} = vec4f(run${s} + ${w}.x, run${s} + ${w}.x + ${w}.y, run${s} + ${w}.x + ${w}.y + ${w}.z, run${s} + ${w}.x + ${w}.y + ${w}.z + ${w}.w);`);
      out.line(`let hit${s}_${q} = (run${s}_${q} > vec4f(r${s})) & (${w} > vec4f(0.0));`);
      const hit = `hit${s}_${q}`;
      const within = `select(select(select(${4 * q + 3}u, ${4 * q + 2}u, ${hit}.z), ${4 * q + 1}u, ${hit}.y), ${4 * q}u, ${hit}.x)`;
      out.line(`pick${s} = select(pick${s}, lane * ${VW}u + ${within}, pick${s} == ${NONE} && any(${hit}));`);
      out.line(`run${s} = run${s}_${q}.w;`);
    }
    collectives.minU32(out, `picked${s}`, `pick${s}`);
    // Rounding can leave r just past the mass walked; the argmax is in every nucleus.
    out.line(`code = select(picked${s}, greedy${s}, picked${s} == ${NONE});`);
  });
}

/**
 * Generates a kernel that only samples. One workgroup of `lanes` lanes per stream draws
 * the stream's code from logits (B, V) by the rule of the generator kernel's sampler. The
 * code goes to current (B) and to row out_row of codes (rows, B). V must be a multiple of
 * 4 * lanes. The Params struct is that of sample_logits.wgsl, so both take the same
 * uniform; the bindings are 1: logits, 2: current, 3: codes.
 */
export function buildSamplerKernel(plan: { V: number; lanes: number; subgroups: boolean }): GeneratedKernel {
  const { V, lanes: W } = plan;
  if (V % (4 * W) !== 0) throw new ShapeError(`sampler kernel: V = ${V} is not a multiple of 4 * ${W} lanes`);
  const VW = V / W;
  const VQ = VW / 4;
  const collectives: Collectives = plan.subgroups ? new SubgroupCollectives(W) : new WorkgroupCollectives(W);
  const out = new WgslWriter();
  out.line(`
struct Params {
  batch: u32,
  classes: u32,
  counter: u32,
  seed: u32,
  temperature: f32,
  top_p: f32,
  out_row: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
// (B, V / 4)
@group(0) @binding(1) var<storage, read> logits: array<vec4f>;
// (B): the next step's input
@group(0) @binding(2) var<storage, read_write> current: array<u32>;
// (rows, B)
@group(0) @binding(3) var<storage, read_write> codes: array<u32>;
%WORKGROUP%

// One workgroup per stream; lane \`lane\` reads classes lane * ${VW} .. lane * ${VW} + ${VW - 1}.
@compute @workgroup_size(${W})`);
  out.block('fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lane: u32)', () => {
    out.line('let stream = wid.x;');
    // The generator kernel's sampler draws with counter p.counter + t for its step t.
    out.line('let t = 0u;');
    out.line('var code = 0u;');
    emitSamplerCode(out, collectives, { VQ, VW }, (q) => `logits[stream * ${V / 4}u + lane * ${VQ}u + ${q}u]`);
    out.block('if (lane == 0u)', () => {
      out.line('current[stream] = code;');
      out.line('codes[p.out_row * p.batch + stream] = code;');
    });
  });

  const directives = plan.subgroups ? 'enable subgroups;\ndiagnostic(off, subgroup_uniformity);\n' : '';
  let source = `${directives}${samplerSource}\n${out.text()}`;
  let workgroupBytes = 0;
  if (collectives instanceof WorkgroupCollectives) {
    source = source.replace('%WORKGROUP%', collectives.declarations());
    workgroupBytes = collectives.workgroupBytes();
  } else {
    source = source.replace('%WORKGROUP%', '');
  }
  const loopIterationsPerStep = 1 + NUCLEUS_BISECTION_STEPS + (plan.subgroups ? 0 : 1);
  return { label: `sample_lanes[V=${V},W=${W},${plan.subgroups ? 'subgroups' : 'workgroup'},${hashText(source)}]`, source, loopIterationsPerStep, workgroupBytes };
}

export function buildGenerateKernel(plan: KernelPlan): GeneratedKernel {
  const { layout, nLayers, lanes: W, streams: S } = plan;
  const stage = plan.role === 'stage';
  const io: StageIo = plan.stageIo ?? {};
  if (stage && plan.traces) throw new ShapeError('generator: the stage kernel records no traces');
  if (io.pool && io.head) throw new ShapeError('generator: a stage kernel ends either in the pooling buffers or in the head, not both');
  checkLanes(layout, W);
  const { D, DI, N, NP, R, K, V, VP, XT, KT, RT, TW } = layout;
  const E = D / W;
  const Q = E / 4;
  const M = DI / W;
  const VW = VP / W;
  const VQ = VW / 4;
  const D4 = D / 4;
  const NQ = NP / 4;
  const VP4 = VP / 4;

  const collectives: Collectives = plan.subgroups ? new SubgroupCollectives(W) : new WorkgroupCollectives(W);
  const streams = Array.from({ length: S }, (_, s) => s);
  const out = new WgslWriter();

  // Texel t of this lane's item in an interleaved or lane-blocked row (pack.ts).
  const texel = (row: string, t: number): string => `texel(${row}, ${t * W}u + lane)`;
  // Component i of the flat [dt | B | C] row of stream s.
  const dbl = (s: number, i: number): string => `dbl${s}_${i >> 2}.${COMPONENTS[i & 3]}`;
  const vec4Of = (parts: string[]): string => `vec4f(${parts.join(', ')})`;
  const sumComponents = (v: string): string => `${v}.x + ${v}.y + ${v}.z + ${v}.w`;

  // Per-stream stores go through one store site in a loop over the streams, because every
  // store site costs lavapipe about 0.2 s of compile time. `value(s)` names stream s's value.
  const pick = (values: string[], index: string): string =>
    values.slice(1).reduce((chosen, value, i) => `select(${chosen}, ${value}, ${index} == ${i + 1}u)`, values[0]);
  const emitStreamStores = (stores: Array<{ target: (stream: string) => string; value: (s: number) => string }>): void => {
    if (S === 1) {
      for (const store of stores) out.line(`${store.target('stream0')} = ${store.value(0)};`);
      return;
    }
    out.block(`for (var s = 0u; s < ${S}u; s++)`, () => {
      out.line(`let stream = wid.x * ${S}u + s;`);
      for (const store of stores) out.line(`${store.target('stream')} = ${pick(streams.map(store.value), 's')};`);
    });
  };
  // State addresses in vec4s. The 'generate' role keeps each stream's layers together:
  // (B, layers, DI, KT) and (B, layers, DI, NQ). The 'stage' role keeps each layer's
  // streams together, (layers, B, DI, KT) and (layers, B, DI, NQ), at the padded layer
  // strides of plan.stageStates. One layer's state is then a tensor view of its own.
  const stageStates = plan.stageStates;
  if (stage && !stageStates) throw new ShapeError('generator: the stage role needs stageStates');
  const streamStride = (perChannel: number): number => (stage ? DI * perChannel : nLayers * DI * perChannel);
  const layerOffset = (perChannel: number, layerStride: number | undefined): string =>
    stage ? `layer * ${layerStride}u + d * ${perChannel}u` : `(layer * ${DI}u + d) * ${perChannel}u`;
  const convOffset = layerOffset(KT, stageStates?.convLayerVec4);
  const ssmOffset = layerOffset(NQ, stageStates?.ssmLayerVec4);
  const convIndex = (stream: string, t: number): string => `conv[${stream} * ${streamStride(KT)}u + ${convOffset} + ${t}u]`;
  const ssmIndex = (stream: string, q: number): string => `ssm[${stream} * ${streamStride(NQ)}u + ${ssmOffset} + ${q}u]`;

  // x / sqrt(mean(x^2) + eps) of the lane-blocked residual, then gathered on every lane.
  const emitNormGather = (prefix: string): void => {
    for (const s of streams) {
      out.line(`let ${prefix}sq${s} = ${names(`x${s}_`, Q).map((x) => `dot(${x}, ${x})`).join(' + ')};`);
      collectives.sumF32(out, `${prefix}sq_all${s}`, `${prefix}sq${s}`);
      out.line(`let ${prefix}inv${s} = 1.0 / sqrt(${prefix}sq_all${s} / ${f32Literal(D)} + ${f32Literal(plan.rmsNormEps)});`);
      for (let q = 0; q < Q; q++) out.line(`let ${prefix}n${s}_${q} = x${s}_${q} * ${prefix}inv${s};`);
      collectives.gatherVec4(out, names(`${prefix}h${s}_`, D4), names(`${prefix}n${s}_`, Q));
    }
  };

  // Dot products of one weight row (D/4 texels at `row`) with every stream's gathered input.
  const emitRowDots = (row: string, inputPrefix: string, result: string): void => {
    for (let i = 0; i < D4; i++) out.line(`let w${result}${i} = ${texel(row, i)};`);
    for (const s of streams) {
      const terms = Array.from({ length: D4 }, (_, i) => `w${result}${i} * ${inputPrefix}${s}_${i}`);
      out.line(`let ${result}${s}v = ${terms.join(' + ')};`);
      out.line(`let ${result}${s} = ${sumComponents(`${result}${s}v`)};`);
    }
  };

  // u = silu(conv1d bias + conv state . conv weights) for stream s, from conv vec4s c{s}_{t}.
  const convOutput = (s: number, state: string): string => {
    const terms = Array.from({ length: KT }, (_, t) => `dot(${state}${s}_${t}, cw${t})`);
    return `silu(misc.x + ${terms.join(' + ')})`;
  };

  const emitLoopA = (): void => {
    for (const s of streams) for (let c = 0; c < XT; c++) out.line(`var ax${s}_${c} = vec4f(0.0);`);
    out.block(`for (var m = 0u; m < ${M}u; m++)`, () => {
      out.line(`let d = m * ${W}u + lane;`);
      emitRowDots('rows.x + m', 'lnh', 'xi');
      out.line('let ch_row = rows.z + m;');
      for (let t = 0; t < KT; t++) out.line(`let cw${t} = ${texel('ch_row', t)};`);
      out.line(`let misc = ${texel('ch_row', KT)};`);
      for (const s of streams) {
        // Shift the conv state left by one and append xi: it then contains the last K inputs.
        out.line(`let cb${s} = conv_base${s} + ${convOffset};`);
        for (let t = 0; t < KT; t++) out.line(`let old${s}_${t} = conv[cb${s} + ${t}u];`);
        const flat = (k: number): string => {
          if (k < K - 1) return `old${s}_${(k + 1) >> 2}.${COMPONENTS[(k + 1) & 3]}`;
          return k === K - 1 ? `xi${s}` : '0.0';
        };
        for (let t = 0; t < KT; t++) out.line(`let c${s}_${t} = ${vec4Of([0, 1, 2, 3].map((c) => flat(4 * t + c)))};`);
        out.line(`let u${s} = ${convOutput(s, 'c')};`);
      }
      emitStreamStores(Array.from({ length: KT }, (_, t) => ({ target: (stream: string) => convIndex(stream, t), value: (st: number) => `c${st}_${t}` })));
      out.block('if (selective)', () => {
        out.line('let xp_row = rows.y + m;');
        for (let c = 0; c < XT; c++) {
          out.line(`let xw${c} = ${texel('xp_row', c)};`);
          for (const s of streams) out.line(`ax${s}_${c} += xw${c} * u${s};`);
        }
      });
    });

    // [dt | B | C]: the sum of the lanes' partial x_proj, or the constant row.
    for (const s of streams) for (let c = 0; c < XT; c++) out.line(`var dbl${s}_${c}: vec4f;`);
    out.block('if (selective)', () => {
      for (const s of streams) {
        collectives.sumVec4(out, names(`dsum${s}_`, XT), names(`ax${s}_`, XT));
        for (let c = 0; c < XT; c++) out.line(`dbl${s}_${c} = dsum${s}_${c};`);
      }
    });
    out.block('else', () => {
      for (let c = 0; c < XT; c++) {
        // One item, in lane 0's slot, read by every lane.
        out.line(`let xb${c} = texel(rows_b.y, ${c * W}u);`);
        for (const s of streams) out.line(`dbl${s}_${c} = xb${c};`);
      }
    });
    for (const s of streams) {
      for (let c = 0; c < RT; c++) {
        out.line(`let dt${s}_${c} = ${vec4Of(COMPONENTS.map((_, k) => (4 * c + k < R ? dbl(s, 4 * c + k) : '0.0')))};`);
      }
      for (let q = 0; q < NQ; q++) {
        out.line(`let bm${s}_${q} = ${vec4Of(COMPONENTS.map((_, k) => (4 * q + k < N ? dbl(s, R + 4 * q + k) : '0.0')))};`);
        out.line(`let cm${s}_${q} = ${vec4Of(COMPONENTS.map((_, k) => (4 * q + k < N ? dbl(s, R + N + 4 * q + k) : '0.0')))};`);
      }
    }
  };

  const emitLoopB = (): void => {
    for (const s of streams) for (let i = 0; i < D4; i++) out.line(`var ao${s}_${i} = vec4f(0.0);`);
    out.block(`for (var m = 0u; m < ${M}u; m++)`, () => {
      out.line(`let d = m * ${W}u + lane;`);
      emitRowDots(`rows.x + ${M}u + m`, 'lnh', 'zi');
      out.line('let ch_row = rows.z + m;');
      for (let t = 0; t < KT; t++) out.line(`let cw${t} = ${texel('ch_row', t)};`);
      out.line(`let misc = ${texel('ch_row', KT)};`);
      for (let c = 0; c < RT; c++) out.line(`let dw${c} = ${texel('ch_row', KT + 1 + c)};`);
      for (let q = 0; q < NQ; q++) out.line(`let a${q} = ${texel('ch_row', KT + 1 + RT + q)};`);
      for (const s of streams) {
        // u again, from the conv state loop A stored: the same expression on the same values.
        out.line(`let cb${s} = conv_base${s} + ${convOffset};`);
        for (let t = 0; t < KT; t++) out.line(`let c${s}_${t} = conv[cb${s} + ${t}u];`);
        out.line(`let u${s} = ${convOutput(s, 'c')};`);
        const dtTerms = Array.from({ length: RT }, (_, c) => `dot(dw${c}, dt${s}_${c})`);
        out.line(`let delta${s} = softplus(misc.y + ${dtTerms.join(' + ')});`);
        out.line(`let du${s} = delta${s} * u${s};`);
        out.line(`let hb${s} = ssm_base${s} + ${ssmOffset};`);
        out.line(`var yv${s} = vec4f(0.0);`);
        if (plan.traces) out.line(`var sq${s} = vec4f(0.0);`);
        // Zero-order hold for A, Euler for B, as the authors' reference does.
        for (let q = 0; q < NQ; q++) {
          out.line(`let h${s}_${q} = exp(delta${s} * a${q}) * ssm[hb${s} + ${q}u] + du${s} * bm${s}_${q};`);
          out.line(`yv${s} += h${s}_${q} * cm${s}_${q};`);
          if (plan.traces) out.line(`sq${s} += h${s}_${q} * h${s}_${q};`);
        }
        out.line(`let gate${s} = silu(zi${s});`);
        out.line(`let y${s} = (${sumComponents(`yv${s}`)} + misc.z * u${s}) * gate${s};`);
        if (plan.traces) out.line(`let norm${s} = sqrt(${sumComponents(`sq${s}`)});`);
      }
      emitStreamStores(Array.from({ length: NQ }, (_, q) => ({ target: (stream: string) => ssmIndex(stream, q), value: (st: number) => `h${st}_${q}` })));
      if (plan.traces) {
        const trace = (kind: number, value: string) => ({
          target: (stream: string) => `traces[${kind}u * trace_kind_stride + ((layer * p.trace_steps + step) * p.batch + ${stream}) * ${DI}u + d]`,
          value: (st: number) => `${value}${st}`,
        });
        emitStreamStores([trace(0, 'delta'), trace(1, 'gate'), trace(2, 'norm')]);
      }
      out.line('let out_row = rows.w + m;');
      for (let i = 0; i < D4; i++) {
        out.line(`let wo${i} = ${texel('out_row', i)};`);
        for (const s of streams) out.line(`ao${s}_${i} += wo${i} * y${s};`);
      }
    });
    for (const s of streams) {
      collectives.reduceScatterVec4(out, names(`xo${s}_`, Q), names(`ao${s}_`, D4));
      for (let q = 0; q < Q; q++) out.line(`x${s}_${q} += xo${s}_${q};`);
    }
  };

  // Logits of the lane's VW classes, 4 per iteration, into this step's logits rows (or stage_logits).
  const emitHead = (target = (stream: string) => `logits[(logits_row * p.batch + ${stream}) * ${VP4}u + lane * ${VQ}u + k]`): void => {
    emitNormGather('hn');
    out.block(`for (var k = 0u; k < ${VQ}u; k++)`, () => {
      out.line(`let class0 = lane * ${VW}u + 4u * k;`);
      for (let c = 0; c < 4; c++) {
        out.line(`let head_row${c} = ${layout.head.firstRow}u + 4u * k + ${c}u;`);
        emitRowDots(`head_row${c}`, 'hnh', `lo${c}_`);
      }
      for (const s of streams) {
        const logits = vec4Of([0, 1, 2, 3].map((c) => `lo${c}_${s}`));
        // Classes past V are padding: a very negative logit gives them zero probability.
        out.line(`let lv${s} = select(${logits}, vec4f(-3.0e38), class0 + vec4u(0u, 1u, 2u, 3u) >= vec4u(${V}u));`);
      }
      emitStreamStores([{ target, value: (st) => `lv${st}` }]);
    });
  };

  // Samples the code of stream `stream` into `code` (a WGSL var) from the previous step's logits.
  const emitSampler = (): void =>
    emitSamplerCode(out, collectives, { VQ, VW }, (q) => `logits[(prev_row * p.batch + stream) * ${VP4}u + lane * ${VQ}u + ${q}u]`);

  const emitLayerLoop = (): void => {
    out.block(`for (var layer = 0u; layer < ${nLayers}u; layer++)`, () => {
      out.line('let rows = layer_table[2u * layer];');
      out.line('let rows_b = layer_table[2u * layer + 1u];');
      out.line('let selective = rows_b.x != 0u;');
      emitNormGather('ln');
      emitLoopA();
      emitLoopB();
    });
  };

  // --- module -------------------------------------------------------------------------

  // Directives must precede every declaration, including the prepended helper files.
  const directives = plan.subgroups
    ? // Every condition in the kernel is uniform across the workgroup (uniform buffers,
      // constants and values from subgroup operations); WGSL's analysis cannot see the last kind.
      'enable subgroups;\ndiagnostic(off, subgroup_uniformity);\n'
    : '';
  const texelFunction =
    layout.pages === 1
      ? 'fn texel(row: u32, col: u32) -> vec4f {\n  return textureLoad(weights, vec2u(col, row));\n}'
      : `fn texel(row: u32, col: u32) -> vec4f {\n  let page = row / ${layout.pageRows}u;\n  return textureLoad(weights, vec2u(page * ${TW * W}u + col, row - page * ${layout.pageRows}u));\n}`;

  out.line(`
struct Params {
  batch: u32,
  // 0: sample from the pending logits, then feed the sample; 1: feed the inputs.
  mode: u32,
  // First step of this dispatch in the inputs, codes, logits and traces buffers.
  step_begin: u32,
  step_count: u32,
  // Random-draw counter of the first step (samples generated since reset).
  counter: u32,
  seed: u32,
  temperature: f32,
  top_p: f32,
  // Steps the traces buffer has room for, per layer.
  trace_steps: u32,
  // Logits row the first step samples from in mode 0.
  pending_row: u32,
  pad0: u32,
  pad1: u32,
}

@group(0) @binding(${BINDING.params}) var<uniform> p: Params;
// Per layer, first texture rows: (in_proj, x_proj^T, channel, out_proj^T), (selective, x bias, 0, 0).
@group(0) @binding(${BINDING.layerTable}) var<uniform> layer_table: array<vec4u, ${2 * nLayers}>;
// A read-only storage texture: lavapipe loads it about twice as fast as a sampled texture.
@group(0) @binding(${BINDING.weights}) var weights: texture_storage_2d<rgba32float, read>;
// (B, layers, DI, NP / 4), or (layers, B, DI, NP / 4) in the stage role
@group(0) @binding(${BINDING.ssm}) var<storage, read_write> ssm: array<vec4f>;
// (B, layers, DI, ${KT}), or (layers, B, DI, ${KT}) in the stage role: the last K inputs, k = 0 the oldest
@group(0) @binding(${BINDING.conv}) var<storage, read_write> conv: array<vec4f>;`);
  if (stage) {
    if (!io.head || !io.embed) {
      out.line(`// (B, D / 4): the residual entering the stage (unless it embeds), then leaving it (unless it ends in the head)
@group(0) @binding(${BINDING.stageX}) var<storage, read_write> stage_x: array<vec4f>;`);
    }
    if (io.embed) out.line(`// (B): the code each stream feeds
@group(0) @binding(${BINDING.stageCodes}) var<storage, read> stage_codes: array<u32>;`);
    if (io.pool) {
      out.line(`// (B, p * D / 4): the level's down buffer, which collects x, and up buffer, added to x
@group(0) @binding(${BINDING.stageDown}) var<storage, read_write> stage_down: array<vec4f>;
@group(0) @binding(${BINDING.stageUp}) var<storage, read> stage_up: array<vec4f>;
// x: the column block j of this step, 0 <= j < p
@group(0) @binding(${BINDING.stageSlot}) var<uniform> stage_slot: vec4u;`);
    }
    if (io.head) out.line(`// (B, VP / 4): logits, padded classes at -3e38
@group(0) @binding(${BINDING.stageLogits}) var<storage, read_write> stage_logits: array<vec4f>;`);
  } else {
    out.line(`// (steps, B)
@group(0) @binding(${BINDING.inputs}) var<storage, read> inputs: array<u32>;
// (steps, B)
@group(0) @binding(${BINDING.codes}) var<storage, read_write> codes: array<u32>;
// (rows, B, VP / 4): logits, padded classes at -3e38; row = step in mode 1, step % 2 in mode 0
@group(0) @binding(${BINDING.logits}) var<storage, read_write> logits: array<vec4f>;`);
  }
  if (plan.traces) {
    out.line(`// (3, layers, trace_steps, B, DI): delta, gate, state norm
@group(0) @binding(${BINDING.traces}) var<storage, read_write> traces: array<f32>;`);
  }
  out.line('%WORKGROUP%');
  out.line(`
${texelFunction}

// One workgroup: streams wid.x * ${S} .. wid.x * ${S} + ${S - 1}; one invocation: lane \`lane\` of every vector.
@compute @workgroup_size(${W})`);
  out.block('fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lane: u32)', () => {
    for (const s of streams) {
      out.line(`let stream${s} = wid.x * ${S}u + ${s}u;`);
      out.line(`let ssm_base${s} = stream${s} * ${streamStride(NQ)}u;`);
      out.line(`let conv_base${s} = stream${s} * ${streamStride(KT)}u;`);
    }
    if (plan.traces) out.line(`let trace_kind_stride = ${nLayers}u * p.trace_steps * p.batch * ${DI}u;`);

    if (stage) {
      // One step: the layers, with the parts of plan.stageIo around them.
      out.line('let step = 0u;');
      for (const s of streams) {
        if (io.embed) {
          out.line(`let emb_row${s} = ${layout.embedding.firstRow}u + min(stage_codes[stream${s}], ${V - 1}u);`);
          for (let q = 0; q < Q; q++) out.line(`var x${s}_${q} = texel(emb_row${s}, lane * ${Q}u + ${q}u);`);
        } else {
          for (let q = 0; q < Q; q++) out.line(`var x${s}_${q} = stage_x[stream${s} * ${D4}u + lane * ${Q}u + ${q}u];`);
        }
      }
      emitLayerLoop();
      const lanePart = (q: number) => `lane * ${Q}u + ${q}u`;
      if (io.pool) {
        const column = (stream: string, q: number) => `(${stream} * ${io.pool}u + stage_slot.x) * ${D4}u + ${lanePart(q)}`;
        for (const s of streams) for (let q = 0; q < Q; q++) out.line(`let up${s}_${q} = stage_up[${column(`stream${s}`, q)}];`);
        emitStreamStores([
          ...Array.from({ length: Q }, (_, q) => ({ target: (stream: string) => `stage_down[${column(stream, q)}]`, value: (st: number) => `x${st}_${q}` })),
          ...Array.from({ length: Q }, (_, q) => ({ target: (stream: string) => `stage_x[${stream} * ${D4}u + ${lanePart(q)}]`, value: (st: number) => `x${st}_${q} + up${st}_${q}` })),
        ]);
      } else if (io.head) {
        emitHead((stream) => `stage_logits[${stream} * ${VP4}u + lane * ${VQ}u + k]`);
      } else {
        emitStreamStores(Array.from({ length: Q }, (_, q) => ({ target: (stream: string) => `stage_x[${stream} * ${D4}u + ${lanePart(q)}]`, value: (st: number) => `x${st}_${q}` })));
      }
      return;
    }

    out.block('for (var t = 0u; t < p.step_count; t++)', () => {
      out.line('let step = p.step_begin + t;');
      // Sampling needs only the previous step's logits, so mode 0 alternates two rows.
      out.line('let logits_row = select(step, step & 1u, p.mode == 0u);');
      for (const s of streams) out.line(`var code${s} = 0u;`);
      out.block('if (p.mode == 0u)', () => {
        out.line('let prev_row = select((step - 1u) & 1u, p.pending_row, t == 0u);');
        // One sampler in a loop over the streams keeps the kernel small.
        out.block(`for (var s = 0u; s < ${S}u; s++)`, () => {
          out.line(`let stream = wid.x * ${S}u + s;`);
          out.line('var code = 0u;');
          emitSampler();
          out.line('if (lane == 0u) { codes[step * p.batch + stream] = code; }');
          for (const st of streams) out.line(`code${st} = select(code${st}, code, s == ${st}u);`);
        });
      });
      out.block('else', () => {
        for (const s of streams) out.line(`code${s} = inputs[step * p.batch + stream${s}];`);
      });

      // Embedding row of the code: the lane's block of E values.
      const embedding = layout.embedding;
      for (const s of streams) {
        out.line(`let emb_row${s} = ${embedding.firstRow}u + min(code${s}, ${V - 1}u);`);
        for (let q = 0; q < Q; q++) out.line(`var x${s}_${q} = texel(emb_row${s}, lane * ${Q}u + ${q}u);`);
      }

      emitLayerLoop();
      emitHead();
    });
  });

  let source = `${directives}${mathSource}\n${samplerSource}\n${out.text()}`;
  let workgroupBytes = 0;
  if (collectives instanceof WorkgroupCollectives) {
    source = source.replace('%WORKGROUP%', collectives.declarations());
    workgroupBytes = collectives.workgroupBytes();
  } else {
    source = source.replace('%WORKGROUP%', '');
  }

  // The step, the layers, loops A and B, the head, the sampler with its bisection, the
  // loops over streams around shared store sites (none when S = 1), and exchange writes.
  const streamLoops = S === 1 ? 0 : S * (nLayers * M * 2 + VQ);
  // Without subgroups, exchanges of several vec4 write them in a loop (collectives.ts).
  const writeLoop = (count: number): number => (count > 1 ? count : 0);
  const exchangeLoops = plan.subgroups ? 0 : S * (nLayers * (writeLoop(Q) + writeLoop(XT) + writeLoop(D4)) + writeLoop(Q));
  const loopIterationsPerStep = stage
    ? nLayers * (1 + 2 * M) + (io.head ? VQ : 0) + (S === 1 ? 0 : S * (nLayers * M * 2 + 1)) + exchangeLoops
    : 1 + nLayers * (1 + 2 * M) + VQ + S * (1 + NUCLEUS_BISECTION_STEPS) + streamLoops + exchangeLoops;
  const stageParts = stage ? `stage${io.embed ? '+embed' : ''}${io.pool ? `+pool${io.pool}` : ''}${io.head ? '+head' : ''},` : '';
  const variant = `${stageParts}${plan.subgroups ? 'subgroups' : 'workgroup'}${plan.traces ? ',traces' : ''}`;
  return {
    label: `generate[D=${D},DI=${DI},N=${N},L=${nLayers},W=${W},S=${S},${variant},${hashText(source)}]`,
    source,
    loopIterationsPerStep,
    workgroupBytes,
  };
}
