// The engine context: buffer accounting, shape limits, validation-error capture and device
// loss, on the real WebGPU device.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { DeviceLostError, Params, ShapeError } from '../../gpu/context';
import { createNodeContext } from '../../gpu/node';
import { encodeScanForward, scanPackKernel } from '../../gpu/kernels/scan';
import { gpuTest } from '../support/gpu';

describe('GpuContext', () => {
  gpuTest('counts live buffers and bytes', async (ctx) => {
    const before = ctx.memoryStats();
    const a = ctx.tensor('a', [10]);
    const b = ctx.tensor('b', [1000]);
    const during = ctx.memoryStats();
    assert.equal(during.buffers, before.buffers + 2);
    assert.equal(during.bytes, before.bytes + 48 + 4000);
    ctx.release(a, b);
    assert.deepEqual(ctx.memoryStats(), before);
  });

  gpuTest('round-trips data through a tensor', async (ctx) => {
    const data = Float32Array.from({ length: 1001 }, (_, i) => i * 0.5 - 7);
    const tensor = ctx.tensor('data', [1001], data);
    assert.deepEqual(await ctx.read(tensor), data);
    assert.deepEqual(await ctx.read(tensor, 10, 3), data.subarray(10, 13));
  });

  gpuTest('rejects bindings and tensors over the device limits', async (ctx) => {
    const limit = ctx.limits.maxStorageBufferBindingSize;
    const small = ctx.tensor('small', [4]);
    assert.throws(
      () => ctx.dispatch(scanPackKernel, { params: new Params().u32(1), bindings: [{ buffer: small.buffer, offset: 0, size: limit + 4 }], workgroups: [1] }),
      (error: Error) => error instanceof ShapeError && /exceeds this device's maxStorageBufferBindingSize/.test(error.message),
    );
    assert.throws(() => ctx.tensor('huge', [2 ** 20, 2 ** 12]), (error: Error) => error instanceof ShapeError && /huge/.test(error.message));
    assert.throws(() => ctx.dispatch(scanPackKernel, { bindings: [small], workgroups: [70000] }), /exceed 65535 per dimension/);
    // A scan whose chunk of 64 steps cannot fit one binding is refused with its dims named.
    const DI = 4096;
    const big = { ...small, shape: [64, 64, DI] };
    assert.throws(
      () =>
        encodeScanForward(ctx, { B: 64, L: 64, DI, N: 16, G: 1 }, {
          u: big,
          delta: big,
          xbc: { tensor: big, rowStride: 32, bOffset: 0, cOffset: 16 },
          channel: big,
          states: big,
          saveChunkStates: false,
          out: big,
          deltaSoftplus: true,
        }),
      (error: Error) => error instanceof ShapeError && /B = 64, DI = 4096, N = 16/.test(error.message),
    );
  });

  test('captures validation errors instead of printing them', async () => {
    const ctx = await createNodeContext({ label: 'validation probe' });
    try {
      const tensor = ctx.tensor('t', [4]);
      // A shader that does not compile is a validation error, reported asynchronously.
      ctx.dispatch({ label: 'broken', source: 'this is not WGSL' }, { bindings: [tensor], workgroups: [1] });
      await ctx.finish();
      await new Promise((resolve) => setTimeout(resolve, 50));
      const errors = ctx.takeErrors();
      assert.ok(errors.length > 0, 'expected a captured validation error');
      assert.match(errors[0], /broken|WGSL|parse/i);
      assert.deepEqual(ctx.takeErrors(), []);
    } finally {
      ctx.destroy();
    }
  });

  test('reports device loss and refuses work afterwards', async () => {
    const ctx = await createNodeContext({ label: 'loss probe' });
    const lost = new Promise<DeviceLostError>((resolve) => ctx.onDeviceLost(resolve));
    ctx.device.destroy();
    const error = await lost;
    assert.ok(error instanceof DeviceLostError);
    assert.match(error.message, /Recreate the engine/);
    assert.ok(ctx.isLost);
    assert.throws(() => ctx.tensor('after loss', [4]), DeviceLostError);
    ctx.destroy();
  });

  test('packs uniform parameters in declaration order', () => {
    const bytes = new Params().u32(7).f32(0.5).i32(-2).bytes();
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    assert.equal(bytes.byteLength, 16);
    assert.equal(view.getUint32(0, true), 7);
    assert.equal(view.getFloat32(4, true), 0.5);
    assert.equal(view.getInt32(8, true), -2);
    assert.throws(() => new Params().u32(-1), ShapeError);
  });
});
