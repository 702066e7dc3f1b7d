// Test helpers for GPU code: one GpuContext per test file on the real WebGPU device in
// Node, and a wrapper that fails a test on any WebGPU validation or out-of-memory error and
// destroys every buffer the test created.
import assert from 'node:assert/strict';
import { after, test, type TestContext } from 'node:test';

import { createNodeContext } from '../../gpu/node';
import type { GpuContext } from '../../gpu/context';

let shared: Promise<GpuContext> | null = null;

// Registered when a test file imports this module, so it runs after all of that file's tests.
after(async () => {
  if (shared) (await shared).destroy();
});

/** The test file's context, created on first use and destroyed after the file's tests. */
export function gpuContext(): Promise<GpuContext> {
  shared ??= createNodeContext({ label: 'test device' });
  return shared;
}

/** Declares a test that runs `body` on the GPU and fails on any WebGPU error. */
export function gpuTest(name: string, body: (ctx: GpuContext, t: TestContext) => Promise<void>, options: { timeout?: number } = {}): void {
  test(name, { timeout: options.timeout ?? 120_000 }, async (t) => {
    const ctx = await gpuContext();
    const releaseBuffers = ctx.trackScope();
    ctx.device.pushErrorScope('out-of-memory');
    ctx.device.pushErrorScope('validation');
    try {
      await body(ctx, t);
      await ctx.finish();
    } finally {
      const validation = await ctx.device.popErrorScope();
      const outOfMemory = await ctx.device.popErrorScope();
      releaseBuffers();
      assert.equal(validation, null, `WebGPU validation error: ${validation?.message}`);
      assert.equal(outOfMemory, null, `WebGPU out-of-memory error: ${outOfMemory?.message}`);
      assert.deepEqual(ctx.takeErrors(), [], 'uncaptured WebGPU errors');
    }
  });
}
