// GpuContext: everything the engine keeps per device.
//
// - Buffer accounting: every buffer is created and destroyed here, so tests and the
//   generation loop can check that live buffers and bytes stay flat.
// - A pipeline cache keyed by kernel and override constants.
// - Command recording: kernels append dispatches to one open compute pass; submit() ends it
//   and submits. Dispatches in one pass see each other's writes in order.
// - A uniform arena: each dispatch's parameters go into a 256-byte slot of one uniform
//   buffer, uploaded with queue.writeBuffer just before the submit that uses it. Writes are
//   ordered with submits on the queue, so slots can be reused right after a submit.
// - Validation errors and device loss, captured and reported instead of printed.
import type { AcquiredDevice, AdapterMode } from './device';

/** A view of float32 (or u32) elements in a GPU buffer. */
export interface Tensor {
  readonly buffer: GPUBuffer;
  readonly shape: readonly number[];
  /** Offset of element 0 in bytes; a multiple of 4. */
  readonly byteOffset: number;
  readonly label: string;
}

export function elementCount(shape: readonly number[]): number {
  let count = 1;
  for (const dim of shape) count *= dim;
  return count;
}

export function byteLengthOf(tensor: Tensor): number {
  return elementCount(tensor.shape) * 4;
}

/** Thrown by any engine call after the device was lost; recreate the engine to go on. */
export class DeviceLostError extends Error {
  constructor(readonly reason: string, detail: string) {
    super(`The GPU device was lost (${reason}: ${detail}). Recreate the engine and reload the last checkpoint.`);
    this.name = 'DeviceLostError';
  }
}

/** Thrown when a shape or size does not fit the device; names the shape and the limit. */
export class ShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShapeError';
  }
}

/** A WGSL kernel: its source and entry point. Override constants are given per dispatch. */
export interface KernelSpec {
  readonly label: string;
  readonly source: string;
  readonly entryPoint?: string;
}

/** One storage binding: a whole tensor, or an explicit byte range of a buffer. */
export type Binding = Tensor | { buffer: GPUBuffer; offset: number; size: number };

export interface DispatchOptions {
  /** Override constants of the shader, part of the pipeline cache key. */
  constants?: Record<string, number>;
  /** Uniform parameters, bound at binding 0; see Params. */
  params?: Params;
  /** Storage bindings, bound at 1, 2, ... in order. */
  bindings: Binding[];
  workgroups: readonly [number, number?, number?];
}

/**
 * Packs a uniform struct made only of 4-byte scalars (u32, i32, f32), in declaration
 * order, which is the layout WGSL gives such a struct.
 */
export class Params {
  private readonly view: DataView;
  private count = 0;
  constructor(private readonly capacity = 16) {
    this.view = new DataView(new ArrayBuffer(capacity * 4));
  }
  u32(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
      throw new ShapeError(`u32 parameter ${this.count} is ${value}, outside 0..2^32-1`);
    }
    this.view.setUint32(this.slot(), value, true);
    return this;
  }
  i32(value: number): this {
    this.view.setInt32(this.slot(), value, true);
    return this;
  }
  f32(value: number): this {
    this.view.setFloat32(this.slot(), value, true);
    return this;
  }
  /** Returns the packed bytes, padded to 16 as uniform buffers require. */
  bytes(): Uint8Array {
    const byteLength = Math.max(16, Math.ceil((this.count * 4) / 16) * 16);
    return new Uint8Array(this.view.buffer, 0, byteLength);
  }
  private slot(): number {
    if (this.count >= this.capacity) throw new Error(`Params: more than ${this.capacity} fields`);
    return 4 * this.count++;
  }
}

const UNIFORM_SLOT_BYTES = 256;
const UNIFORM_ARENA_SLOTS = 4096;

export interface ContextInfo {
  adapterName: string;
  mode: AdapterMode;
  isFallbackAdapter: boolean;
}

export class GpuContext {
  readonly device: GPUDevice;
  readonly limits: GPUSupportedLimits;
  readonly info: ContextInfo;
  /** Validation and out-of-memory errors seen since the last takeErrors(). */
  private errors: string[] = [];
  private lostInfo: GPUDeviceLostInfo | null = null;
  private readonly lostListeners = new Set<(error: DeviceLostError) => void>();

  private readonly liveBuffers = new Map<GPUBuffer, number>();
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly modules = new Map<string, GPUShaderModule>();

  private readonly uniformBuffer: GPUBuffer;
  private readonly uniformStaging = new Uint8Array(UNIFORM_SLOT_BYTES * UNIFORM_ARENA_SLOTS);
  private uniformSlots = 0;

  private placeholder: GPUBuffer | null = null;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private destroyed = false;

  constructor(acquired: Pick<AcquiredDevice, 'device' | 'adapterName' | 'mode' | 'isFallbackAdapter'>) {
    this.device = acquired.device;
    this.limits = acquired.device.limits;
    this.info = { adapterName: acquired.adapterName, mode: acquired.mode, isFallbackAdapter: acquired.isFallbackAdapter };

    this.device.addEventListener('uncapturederror', (event) => {
      const error = (event as GPUUncapturedErrorEvent).error;
      this.errors.push(`${error.constructor?.name ?? 'GPUError'}: ${error.message}`);
    });
    void this.device.lost.then((info) => {
      this.lostInfo = info;
      if (this.destroyed) return;
      const error = new DeviceLostError(info.reason ?? 'unknown', info.message);
      for (const listener of this.lostListeners) listener(error);
    });

    this.uniformBuffer = this.device.createBuffer({
      label: 'uniform arena',
      size: this.uniformStaging.byteLength,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
  }

  // --- errors and loss -------------------------------------------------------------

  /** Returns and clears the validation errors seen so far. */
  takeErrors(): string[] {
    const errors = this.errors;
    this.errors = [];
    return errors;
  }

  /** Calls `listener` once if the device is lost (not when destroy() was called). */
  onDeviceLost(listener: (error: DeviceLostError) => void): () => void {
    this.lostListeners.add(listener);
    return () => this.lostListeners.delete(listener);
  }

  get isLost(): boolean {
    return this.lostInfo !== null;
  }

  private checkAlive(): void {
    if (this.lostInfo && !this.destroyed) {
      throw new DeviceLostError(this.lostInfo.reason ?? 'unknown', this.lostInfo.message);
    }
    if (this.destroyed) throw new Error('GpuContext was destroyed; create a new engine.');
  }

  // --- buffers ---------------------------------------------------------------------

  /** Live buffers created through this context, and their total bytes. */
  memoryStats(): { buffers: number; bytes: number } {
    let bytes = 0;
    for (const size of this.liveBuffers.values()) bytes += size;
    return { buffers: this.liveBuffers.size, bytes };
  }

  createBuffer(label: string, byteLength: number, usage: GPUBufferUsageFlags): GPUBuffer {
    this.checkAlive();
    const size = Math.max(16, Math.ceil(byteLength / 16) * 16);
    if (size > this.limits.maxBufferSize) {
      throw new ShapeError(
        `Buffer "${label}" needs ${byteLength} bytes, over this device's maxBufferSize of ${this.limits.maxBufferSize}. ` +
          'Use a smaller batch or window length.',
      );
    }
    const buffer = this.device.createBuffer({ label, size, usage });
    this.liveBuffers.set(buffer, size);
    return buffer;
  }

  /** Returns a function that destroys every buffer created after this call and still alive. */
  trackScope(): () => number {
    const before = new Set(this.liveBuffers.keys());
    return () => {
      let destroyed = 0;
      for (const buffer of [...this.liveBuffers.keys()]) {
        if (before.has(buffer)) continue;
        this.destroyBuffer(buffer);
        destroyed++;
      }
      return destroyed;
    };
  }

  destroyBuffer(buffer: GPUBuffer): void {
    if (!this.liveBuffers.delete(buffer)) return;
    buffer.destroy();
  }

  /**
   * Returns a small storage binding for an optional kernel output that a dispatch does not
   * use. WebGPU needs every binding of the layout filled, and a real tensor would alias.
   */
  placeholderStorage(): Binding {
    // Created outside the buffer accounting, like the uniform arena: it lives as long as the context.
    this.placeholder ??= this.device.createBuffer({ label: 'unused optional binding', size: 256, usage: GPUBufferUsage.STORAGE });
    return { buffer: this.placeholder, offset: 0, size: 256 };
  }

  /** Creates a zero-filled float32 tensor, or one initialised with `data`. */
  tensor(label: string, shape: readonly number[], data?: ArrayBufferView): Tensor {
    for (const dim of shape) {
      if (!Number.isInteger(dim) || dim < 0) throw new ShapeError(`Tensor "${label}" has invalid shape [${shape}]`);
    }
    const count = elementCount(shape);
    if (count * 4 > 2 ** 32 - 4) throw new ShapeError(`Tensor "${label}" of shape [${shape}] overflows 32-bit indexing`);
    const buffer = this.createBuffer(
      label,
      count * 4,
      GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    );
    const tensor: Tensor = { buffer, shape: [...shape], byteOffset: 0, label };
    if (data) this.write(tensor, data);
    return tensor;
  }

  release(...tensors: Array<Tensor | null | undefined>): void {
    for (const tensor of tensors) if (tensor) this.destroyBuffer(tensor.buffer);
  }

  /**
   * Uploads `data` into a tensor. Like queue.writeBuffer, the write lands before any work
   * submitted after this call, including dispatches already recorded but not yet submitted.
   */
  write(tensor: Tensor, data: ArrayBufferView, elementOffset = 0): void {
    this.checkAlive();
    if (data.byteLength + elementOffset * 4 > byteLengthOf(tensor)) {
      throw new ShapeError(`write of ${data.byteLength} bytes overflows tensor "${tensor.label}" [${tensor.shape}]`);
    }
    this.device.queue.writeBuffer(tensor.buffer, tensor.byteOffset + elementOffset * 4, data.buffer, data.byteOffset, data.byteLength);
  }

  /** Zero-fills a tensor as part of the current recording. */
  clear(tensor: Tensor): void {
    this.endPass();
    this.commandEncoder().clearBuffer(tensor.buffer, tensor.byteOffset, Math.ceil(byteLengthOf(tensor) / 4) * 4);
  }

  /** Copies `source` into `target` (whole tensors of equal size) within the recording. */
  copy(source: Tensor, target: Tensor): void {
    const bytes = byteLengthOf(source);
    if (bytes !== byteLengthOf(target)) {
      throw new ShapeError(`copy from [${source.shape}] "${source.label}" to [${target.shape}] "${target.label}": sizes differ`);
    }
    this.endPass();
    this.commandEncoder().copyBufferToBuffer(source.buffer, source.byteOffset, target.buffer, target.byteOffset, bytes);
  }

  /** Submits pending work and reads a tensor (or `count` elements of it) back as float32. */
  async read(tensor: Tensor, elementOffset = 0, count = elementCount(tensor.shape) - elementOffset): Promise<Float32Array> {
    const bytes = await this.readBytes(tensor.buffer, tensor.byteOffset + elementOffset * 4, count * 4);
    return new Float32Array(bytes);
  }

  async readU32(tensor: Tensor, elementOffset = 0, count = elementCount(tensor.shape) - elementOffset): Promise<Uint32Array> {
    const bytes = await this.readBytes(tensor.buffer, tensor.byteOffset + elementOffset * 4, count * 4);
    return new Uint32Array(bytes);
  }

  private async readBytes(buffer: GPUBuffer, byteOffset: number, byteLength: number): Promise<ArrayBuffer> {
    this.checkAlive();
    if (byteLength === 0) return new ArrayBuffer(0);
    const paddedLength = Math.ceil(byteLength / 4) * 4;
    const staging = this.createBuffer('read-back staging', paddedLength, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
    try {
      this.endPass();
      this.commandEncoder().copyBufferToBuffer(buffer, byteOffset, staging, 0, paddedLength);
      this.submit();
      await staging.mapAsync(GPUMapMode.READ);
      return staging.getMappedRange(0, paddedLength).slice(0, byteLength);
    } finally {
      this.destroyBuffer(staging);
    }
  }

  // --- pipelines and dispatch ------------------------------------------------------

  pipeline(kernel: KernelSpec, constants: Record<string, number> = {}): GPUComputePipeline {
    const constantKey = Object.keys(constants)
      .sort()
      .map((name) => `${name}=${constants[name]}`)
      .join(',');
    const key = `${kernel.label}|${kernel.entryPoint ?? 'main'}|${constantKey}`;
    let pipeline = this.pipelines.get(key);
    if (!pipeline) {
      let module = this.modules.get(kernel.label);
      if (!module) {
        module = this.device.createShaderModule({ label: kernel.label, code: kernel.source });
        this.modules.set(kernel.label, module);
      }
      pipeline = this.device.createComputePipeline({
        label: `${kernel.label} ${constantKey}`,
        layout: 'auto',
        compute: { module, entryPoint: kernel.entryPoint ?? 'main', constants },
      });
      this.pipelines.set(key, pipeline);
    }
    return pipeline;
  }

  /** Records one dispatch into the open compute pass. */
  dispatch(kernel: KernelSpec, options: DispatchOptions): void {
    this.checkAlive();
    const [x, y = 1, z = 1] = options.workgroups;
    const maxPerDimension = this.limits.maxComputeWorkgroupsPerDimension;
    if (x > maxPerDimension || y > maxPerDimension || z > maxPerDimension) {
      throw new ShapeError(`${kernel.label}: ${x}x${y}x${z} workgroups exceed ${maxPerDimension} per dimension`);
    }
    if (x === 0 || y === 0 || z === 0) return;

    const pipeline = this.pipeline(kernel, options.constants);
    const entries: GPUBindGroupEntry[] = [];
    if (options.params) entries.push({ binding: 0, resource: this.uniformSlot(options.params) });
    options.bindings.forEach((binding, index) => {
      entries.push({ binding: index + 1, resource: this.storageResource(kernel, binding) });
    });
    const bindGroup = this.device.createBindGroup({
      label: kernel.label,
      layout: pipeline.getBindGroupLayout(0),
      entries,
    });

    const pass = this.computePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
  }

  /**
   * Records one dispatch of a pipeline with a bind group the caller made once and reuses,
   * which saves the bind group that dispatch() creates per call (kernels run per sample).
   */
  dispatchBound(pipeline: GPUComputePipeline, bindGroup: GPUBindGroup, workgroups: number): void {
    this.checkAlive();
    const pass = this.computePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(workgroups);
  }

  /**
   * Workgroup counts for `invocations` threads in groups of `workgroupSize`, folded into
   * two dimensions when one would exceed the per-dimension limit. Shaders recover the
   * linear index as (wid.y * nwg.x + wid.x) * workgroupSize + lid.x.
   */
  grid(invocations: number, workgroupSize: number): [number, number] {
    const groups = Math.ceil(invocations / workgroupSize);
    if (groups === 0) return [0, 1];
    const x = Math.min(groups, this.limits.maxComputeWorkgroupsPerDimension);
    const y = Math.ceil(groups / x);
    if (y > this.limits.maxComputeWorkgroupsPerDimension) {
      throw new ShapeError(`${invocations} invocations exceed what one dispatch can address`);
    }
    return [x, y];
  }

  /** Ends the open pass and submits everything recorded so far. */
  submit(): void {
    this.checkAlive();
    this.endPass();
    this.flushUniforms();
    if (this.encoder) {
      this.device.queue.submit([this.encoder.finish()]);
      this.encoder = null;
    }
    this.uniformSlots = 0;
  }

  /** Submits pending work and waits for the queue to finish it. */
  async finish(): Promise<void> {
    this.submit();
    await this.device.queue.onSubmittedWorkDone();
  }

  /** Destroys every buffer still alive and the device itself. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const buffer of this.liveBuffers.keys()) buffer.destroy();
    this.liveBuffers.clear();
    this.uniformBuffer.destroy();
    this.placeholder?.destroy();
    this.device.destroy();
  }

  private commandEncoder(): GPUCommandEncoder {
    this.encoder ??= this.device.createCommandEncoder({ label: 'engine commands' });
    return this.encoder;
  }

  private computePass(): GPUComputePassEncoder {
    this.pass ??= this.commandEncoder().beginComputePass({ label: 'engine pass' });
    return this.pass;
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  private flushUniforms(): void {
    if (this.uniformSlots === 0) return;
    this.device.queue.writeBuffer(this.uniformBuffer, 0, this.uniformStaging, 0, this.uniformSlots * UNIFORM_SLOT_BYTES);
  }

  private uniformSlot(params: Params): GPUBufferBinding {
    if (this.uniformSlots === UNIFORM_ARENA_SLOTS) this.submit();
    const bytes = params.bytes();
    const offset = this.uniformSlots * UNIFORM_SLOT_BYTES;
    this.uniformStaging.set(bytes, offset);
    this.uniformSlots++;
    return { buffer: this.uniformBuffer, offset, size: bytes.byteLength };
  }

  private storageResource(kernel: KernelSpec, binding: Binding): GPUBufferBinding {
    let buffer: GPUBuffer;
    let offset: number;
    let size: number;
    if ('shape' in binding) {
      buffer = binding.buffer;
      offset = binding.byteOffset;
      size = Math.max(4, byteLengthOf(binding));
    } else {
      ({ buffer, offset, size } = binding);
    }
    if (size > this.limits.maxStorageBufferBindingSize) {
      const name = 'label' in binding ? binding.label : buffer.label;
      throw new ShapeError(
        `${kernel.label}: binding "${name}" of ${size} bytes exceeds this device's maxStorageBufferBindingSize ` +
          `(${this.limits.maxStorageBufferBindingSize}). Use a smaller batch or window length.`,
      );
    }
    if (offset % this.limits.minStorageBufferOffsetAlignment !== 0) {
      throw new Error(`${kernel.label}: binding offset ${offset} is not a multiple of ${this.limits.minStorageBufferOffsetAlignment}`);
    }
    return { buffer, offset, size: Math.ceil(size / 4) * 4 };
  }
}

/**
 * Returns a copy of `kernel` whose module-scope constants `const NAME: u32 = value;` are
 * set to the given values. Used for sizes that WGSL needs at compile time (private array
 * lengths cannot be override expressions). Throws if a constant is missing in the source.
 */
export function specialize(kernel: KernelSpec, values: Record<string, number>): KernelSpec {
  let source = kernel.source;
  const suffix: string[] = [];
  for (const [name, value] of Object.entries(values)) {
    if (!Number.isInteger(value) || value < 0) throw new Error(`specialize ${kernel.label}: ${name} = ${value} is not a u32`);
    const pattern = new RegExp(`const ${name}\\s*:\\s*u32\\s*=\\s*[0-9]+u;`);
    if (!pattern.test(source)) throw new Error(`specialize ${kernel.label}: no "const ${name}: u32 = ...u;" in the source`);
    source = source.replace(pattern, `const ${name}: u32 = ${value}u;`);
    suffix.push(`${name}=${value}`);
  }
  return { label: `${kernel.label}[${suffix.join(',')}]`, source, entryPoint: kernel.entryPoint };
}
