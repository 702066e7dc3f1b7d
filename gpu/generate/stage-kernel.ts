// One stage of a SaShiMi U-Net, its residual blocks at one level, as a single dispatch per
// step: the generator kernel of kernel.ts in its 'stage' role. It reads the residual x
// (B, D_s) from a tensor, runs RMSNorm, in_proj, the conv step, x_proj, dt_proj, the SSM
// update, the gate and out_proj of every block with the residual adds, and writes x back.
// Optional parts (StageKernelIo) replace the read with the embedding of codes, the write
// with the head's logits, or add the level's pooling buffers after the blocks.
//
// The per-kernel path records about nine dispatches per block per step, each with a new
// bind group. Here the weights sit in one texture packed as for the flat generator
// (pack.ts), the states in two buffers, and the bind groups are made once. On lavapipe the
// default U-Net generated about three times faster this way (docs/sashimi.md).
import { elementCount, ShapeError, type GpuContext, type Tensor } from '../context';
import { blockParameterNames, EMBEDDING, FINAL_NORM, HEAD, layerParameterNames, type ModelConfig } from '../model/config';
import type { ParameterMap } from '../model/init';
import { stageBlocks, type SashimiStage } from '../model/sashimi-config';
import { chooseLanes } from './generator';
import { BINDING, buildGenerateKernel, checkLanes } from './kernel';
import { layerTableData, packWeights, planWeightLayout, type WeightLayout } from './pack';

/**
 * Renames the stage's blocks as a flat model of width D_s, so that pack.ts and kernel.ts
 * apply unchanged. The model's embedding and head come along when `withEnds` is set.
 */
function stageAsFlatModel(config: ModelConfig, stage: SashimiStage, params: ParameterMap, withEnds: boolean): { config: ModelConfig; params: ParameterMap } {
  const blocks = stageBlocks(stage);
  const D = stage.dModel;
  // A stage that neither embeds nor ends in the head packs a one-class vocabulary, to keep those blocks small.
  const vocabSize = withEnds ? config.vocabSize : 1;
  const flat: ModelConfig = { ...config, backbone: 'flat', sashimi: undefined, dModel: D, nLayers: blocks.length, selective: blocks.map((block) => block.selective), vocabSize };
  const renamed: ParameterMap = withEnds
    ? new Map([EMBEDDING, HEAD, FINAL_NORM].map((name) => [name, params.get(name)!]))
    : new Map([
        [EMBEDDING, new Float32Array(D)],
        [HEAD, new Float32Array(D)],
        [FINAL_NORM, new Float32Array(D).fill(1)],
      ]);
  blocks.forEach((block, layer) => {
    const from = blockParameterNames(block.prefix);
    const to = layerParameterNames(layer);
    for (const role of Object.keys(from) as Array<keyof typeof from>) {
      const values = params.get(from[role]);
      // x_proj.weight is absent from non-selective blocks and x_proj.bias from selective ones.
      if (values) renamed.set(to[role], values);
    }
  });
  return { config: flat, params: renamed };
}

/** One block's recurrent state as views into the stage's buffers, in the per-kernel path's shapes. */
export interface StageBlockState {
  /** (B, DI, K): the last K inputs of the conv, k = 0 the oldest. */
  conv: Tensor;
  /** (1, B, DI, N): the SSM state. */
  ssm: Tensor;
}

/** Tensors of a stage kernel's optional parts (StageIo in kernel.ts). */
export interface StageKernelIo {
  /** (B) u32: the codes to embed, for the top level's first stage. */
  codes?: Tensor;
  /** The level's pool factor and its (B, p * D) down and up buffers, for a down stage. */
  pool?: { factor: number; down: Tensor; up: Tensor };
  /** (B, V): where the head writes the logits, for the top level's last stage. V must equal StageKernel.paddedVocab. */
  logits?: Tensor;
}

export class StageKernel {
  readonly stage: SashimiStage;
  /** Per block of the stage, in forward order, its state as views that the per-kernel path can use too. */
  readonly blockStates: StageBlockState[];
  private readonly layout: WeightLayout;
  private readonly nLayers: number;
  private readonly texture: GPUTexture;
  private readonly layerTable: GPUBuffer;
  private readonly ssm: GPUBuffer;
  private readonly conv: GPUBuffer;
  private readonly pipeline: GPUComputePipeline;
  /** Per x tensor (null for a stage that neither reads nor writes x), one bind group per pooling slot. */
  private readonly bindGroups = new Map<GPUBuffer | null, GPUBindGroup[]>();
  private readonly bindings: GPUBindGroupEntry[];
  /** With a pool: one uniform per column block j, each holding j. */
  private readonly slotBuffers: GPUBuffer[] = [];
  private readonly io: StageKernelIo;

  /**
   * Returns whether the kernel's state layout can double as the per-kernel path's, which
   * needs N and K to be multiples of 4 (the kernel pads them to whole vec4s otherwise).
   */
  static supports(config: ModelConfig): boolean {
    return config.dState % 4 === 0 && config.dConv % 4 === 0;
  }

  /** Classes the head writes per stream: V rounded up to whole vec4s of every lane. A head stage needs this to equal V. */
  static paddedVocab(ctx: GpuContext, config: ModelConfig): number {
    const lanes = chooseLanes(ctx, config.dModel).lanes;
    return Math.ceil(config.vocabSize / (4 * lanes)) * 4 * lanes;
  }

  constructor(
    private readonly ctx: GpuContext,
    config: ModelConfig,
    stage: SashimiStage,
    params: ParameterMap,
    readonly batch: number,
    io: StageKernelIo = {},
  ) {
    if (!StageKernel.supports(config)) throw new ShapeError(`stage kernel: dState = ${config.dState} and dConv = ${config.dConv} must be multiples of 4`);
    this.stage = stage;
    this.io = io;
    const flat = stageAsFlatModel(config, stage, params, io.codes !== undefined || io.logits !== undefined);
    this.nLayers = flat.config.nLayers;
    const { lanes, subgroups } = chooseLanes(ctx, stage.dModel);
    this.layout = planWeightLayout(flat.config, lanes, ctx.limits.maxTextureDimension2D);
    checkLanes(this.layout, lanes);
    if (batch > ctx.limits.maxComputeWorkgroupsPerDimension) {
      throw new ShapeError(`stage kernel: a batch of ${batch} exceeds ${ctx.limits.maxComputeWorkgroupsPerDimension} workgroups`);
    }

    const device = ctx.device;
    const { width, height } = this.layout;
    this.texture = device.createTexture({
      label: `stage ${stage.kind} ${stage.level} weights`,
      size: [width, height],
      format: 'rgba32float',
      usage: GPUTextureUsage.STORAGE_BINDING | GPUTextureUsage.COPY_DST,
    });
    device.queue.writeTexture({ texture: this.texture }, packWeights(flat.config, flat.params, this.layout), { bytesPerRow: width * 16, rowsPerImage: height }, [width, height]);

    const label = (part: string) => `stage ${stage.kind} ${stage.level} ${part}`;
    this.layerTable = ctx.createBuffer(label('layer table'), 32 * this.nLayers, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
    device.queue.writeBuffer(this.layerTable, 0, layerTableData(this.layout));

    // Layer strides padded to the storage offset alignment, so that each block's state can be bound alone.
    const { DI, N, K } = this.layout;
    const alignVec4 = ctx.limits.minStorageBufferOffsetAlignment / 16;
    const padded = (vec4s: number) => Math.ceil(vec4s / alignVec4) * alignVec4;
    const convLayerVec4 = padded((batch * DI * K) / 4);
    const ssmLayerVec4 = padded((batch * DI * N) / 4);
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    this.conv = ctx.createBuffer(label('conv state'), this.nLayers * convLayerVec4 * 16, usage);
    this.ssm = ctx.createBuffer(label('SSM state'), this.nLayers * ssmLayerVec4 * 16, usage);
    this.blockStates = stageBlocks(stage).map((block, layer) => ({
      conv: { buffer: this.conv, shape: [batch, DI, K], byteOffset: layer * convLayerVec4 * 16, label: `${block.prefix} conv state` },
      ssm: { buffer: this.ssm, shape: [1, batch, DI, N], byteOffset: layer * ssmLayerVec4 * 16, label: `${block.prefix} SSM state` },
    }));

    const kernel = buildGenerateKernel({
      layout: this.layout,
      nLayers: this.nLayers,
      rmsNormEps: config.rmsNormEps,
      lanes,
      streams: 1,
      traces: false,
      subgroups,
      role: 'stage',
      stageStates: { convLayerVec4, ssmLayerVec4 },
      stageIo: { embed: io.codes !== undefined, pool: io.pool?.factor, head: io.logits !== undefined },
    });
    if (io.logits && elementCount(io.logits.shape) !== batch * this.layout.VP) {
      throw new ShapeError(`stage kernel: the logits tensor [${io.logits.shape}] is not (B, VP) = (${batch}, ${this.layout.VP})`);
    }
    if (kernel.workgroupBytes > ctx.limits.maxComputeWorkgroupStorageSize) {
      throw new ShapeError(`stage kernel: ${kernel.workgroupBytes} bytes of workgroup memory exceed this device's ${ctx.limits.maxComputeWorkgroupStorageSize}; use a narrower model.`);
    }
    this.pipeline = ctx.pipeline({ label: kernel.label, source: kernel.source });
    const whole = (tensor: Tensor) => ({ buffer: tensor.buffer, offset: tensor.byteOffset, size: elementCount(tensor.shape) * 4 });
    this.bindings = [
      { binding: BINDING.layerTable, resource: { buffer: this.layerTable } },
      { binding: BINDING.weights, resource: this.texture.createView({ label: label('weights') }) },
      { binding: BINDING.ssm, resource: { buffer: this.ssm } },
      { binding: BINDING.conv, resource: { buffer: this.conv } },
    ];
    if (io.codes) this.bindings.push({ binding: BINDING.stageCodes, resource: whole(io.codes) });
    if (io.pool) {
      this.bindings.push({ binding: BINDING.stageDown, resource: whole(io.pool.down) }, { binding: BINDING.stageUp, resource: whole(io.pool.up) });
      for (let j = 0; j < io.pool.factor; j++) {
        const slot = ctx.createBuffer(label(`pool slot ${j}`), 16, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
        device.queue.writeBuffer(slot, 0, new Uint32Array([j, 0, 0, 0]));
        this.slotBuffers.push(slot);
      }
    }
    if (io.logits) this.bindings.push({ binding: BINDING.stageLogits, resource: whole(io.logits) });
  }

  /**
   * Records one step of every block of the stage. It reads the residual x (B, D_s) unless
   * it embeds codes, and writes it unless it ends in the head. Pass null when it does
   * neither. `slot` is the column block j of the pooling buffers, 0 without a pool.
   */
  encode(x: Tensor | null, slot = 0): void {
    const { io } = this;
    const usesX = !(io.codes && io.logits);
    if (usesX !== (x !== null)) throw new Error(`stage kernel: stage ${this.stage.kind} ${this.stage.level} ${usesX ? 'needs' : 'takes no'} x tensor`);
    const slots = io.pool?.factor ?? 1;
    if (!Number.isInteger(slot) || slot < 0 || slot >= slots) throw new RangeError(`stage kernel: pooling slot ${slot} is outside 0..${slots - 1}`);
    const bytes = this.batch * this.stage.dModel * 4;
    if (x && elementCount(x.shape) * 4 !== bytes) throw new ShapeError(`stage kernel: x [${x.shape}] is not (B, D) = (${this.batch}, ${this.stage.dModel})`);

    let groups = this.bindGroups.get(x?.buffer ?? null);
    if (!groups) {
      const entries = [...this.bindings];
      if (x) entries.push({ binding: BINDING.stageX, resource: { buffer: x.buffer, offset: x.byteOffset, size: bytes } });
      const layout = this.pipeline.getBindGroupLayout(0);
      const label = `${x?.label ?? 'codes'} through stage ${this.stage.kind} ${this.stage.level}`;
      groups = Array.from({ length: slots }, (_, j) =>
        this.ctx.device.createBindGroup({
          label,
          layout,
          entries: io.pool ? [...entries, { binding: BINDING.stageSlot, resource: { buffer: this.slotBuffers[j] } }] : entries,
        }),
      );
      this.bindGroups.set(x?.buffer ?? null, groups);
    }
    this.ctx.dispatchBound(this.pipeline, groups[slot], this.batch);
  }

  /** Bytes of the weight texture, which ctx.memoryStats() does not count. */
  get textureBytes(): number {
    return this.layout.width * this.layout.height * 16;
  }

  /** Releases the texture and the state buffers; the block state views die with them. */
  destroy(): void {
    for (const slot of this.slotBuffers) this.ctx.destroyBuffer(slot);
    this.ctx.destroyBuffer(this.layerTable);
    this.ctx.destroyBuffer(this.ssm);
    this.ctx.destroyBuffer(this.conv);
    this.texture.destroy();
    this.bindGroups.clear();
  }
}
