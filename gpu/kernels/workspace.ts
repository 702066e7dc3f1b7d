// Scratch memory for kernels that reduce in two passes (split-K matmul, weight and bias
// gradients, loss and norm sums): the first pass writes partial sums here, the second adds
// them up. One workspace serves any number of such calls in a recording, because each
// call finishes with its scratch before the next call overwrites it, and dispatches in one
// pass run in order.
//
// Scratch comes in numbered slots, each its own buffer, because WebGPU rejects a dispatch
// that writes one binding of a buffer while reading another binding of the same buffer.
import { elementCount, type GpuContext, type Tensor } from '../context';

/** Slot for partial sums, read back by reduce_partials. */
export const PARTIALS_SLOT = 0;
/** Slots for intermediate tensors of a multi-kernel op (conv1d backward, cross-entropy). */
export const INTERMEDIATE_SLOT = 1;
export const SECOND_INTERMEDIATE_SLOT = 2;

export class Workspace {
  private readonly buffers: Array<Tensor | null> = [];

  constructor(private readonly ctx: GpuContext, private readonly label = 'kernel workspace') {}

  /**
   * Returns slot `slot` as a tensor of at least `elements` float32 values, valid until the
   * next call for that slot. Growing submits the work recorded so far first, because that
   * work may still use the old buffer; WebGPU lets a buffer be destroyed once its last use
   * is submitted.
   */
  scratch(elements: number, slot = PARTIALS_SLOT): Tensor {
    const needed = Math.max(1, elements);
    const current = this.buffers[slot] ?? null;
    if (current && elementCount(current.shape) >= needed) return current;
    if (current) {
      this.ctx.submit();
      this.ctx.release(current);
    }
    // Grow by half again, within one storage binding, so that a slowly rising size does not
    // reallocate on every call.
    const bindingElements = Math.floor(this.ctx.limits.maxStorageBufferBindingSize / 4);
    const grown = current ? Math.min(Math.ceil(elementCount(current.shape) * 1.5), bindingElements) : 0;
    const tensor = this.ctx.tensor(`${this.label} slot ${slot}`, [Math.max(needed, grown)]);
    this.buffers[slot] = tensor;
    return tensor;
  }

  destroy(): void {
    this.ctx.release(...this.buffers);
    this.buffers.length = 0;
  }
}
