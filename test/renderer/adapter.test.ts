import assert from 'node:assert/strict';
import { test } from 'node:test';

import { adapterDisplayName, selectAdapter } from '../../renderer/engine/adapter';
import { fakeAdapter, fakeGpu } from './fake-gpu';

test('selectAdapter takes a real default adapter', async () => {
  const gpu = fakeGpu({ default: fakeAdapter({ description: 'NVIDIA RTX 4090' }) });
  const selected = await selectAdapter(gpu);
  assert.equal(selected?.summary.name, 'NVIDIA RTX 4090');
  assert.equal(selected?.summary.requestMode, 'default');
  assert.equal(selected?.summary.isFallbackAdapter, false);
  assert.deepEqual(gpu.requests, ['default']);
});

test('selectAdapter prefers compatibility over a fallback default', async () => {
  // Chromium with ANGLE on Vulkan: SwiftShader by default, lavapipe in compatibility mode.
  const gpu = fakeGpu({
    default: fakeAdapter({ vendor: 'google', architecture: 'swiftshader', description: 'SwiftShader Device (Subzero)', isFallbackAdapter: true }),
    compatibility: fakeAdapter({ description: 'ANGLE (Mesa, llvmpipe)', backend: 'openGLES' }),
  });
  const selected = await selectAdapter(gpu);
  assert.equal(selected?.summary.name, 'ANGLE (Mesa, llvmpipe)');
  assert.equal(selected?.summary.requestMode, 'compatibility');
  assert.equal(selected?.summary.backend, 'openGLES');
});

test('selectAdapter falls back to the first fallback adapter', async () => {
  const gpu = fakeGpu({
    default: fakeAdapter({ vendor: 'google', architecture: 'swiftshader', isFallbackAdapter: true }),
    fallback: fakeAdapter({ description: 'other fallback', isFallbackAdapter: true }),
  });
  const selected = await selectAdapter(gpu);
  assert.equal(selected?.summary.name, 'google swiftshader');
  assert.equal(selected?.summary.isFallbackAdapter, true);
  assert.deepEqual(gpu.requests, ['default', 'compatibility', 'fallback']);
});

test('selectAdapter marks forced fallback adapters', async () => {
  const gpu = fakeGpu({ fallback: fakeAdapter({ description: 'Some CPU adapter' }) });
  const selected = await selectAdapter(gpu);
  assert.equal(selected?.summary.requestMode, 'force-fallback');
  assert.equal(selected?.summary.isFallbackAdapter, true);
});

test('selectAdapter survives rejected options', async () => {
  const gpu = fakeGpu({ throwOnCompatibility: true, fallback: fakeAdapter({ description: 'fb', isFallbackAdapter: true }) });
  assert.equal((await selectAdapter(gpu))?.summary.name, 'fb');
});

test('selectAdapter returns null without adapters', async () => {
  assert.equal(await selectAdapter(fakeGpu({})), null);
});

test('adapterDisplayName uses the most specific field', () => {
  assert.equal(adapterDisplayName('google', 'swiftshader', ''), 'google swiftshader');
  assert.equal(adapterDisplayName('mesa', 'llvmpipe', '  ANGLE (Mesa)  '), 'ANGLE (Mesa)');
  assert.match(adapterDisplayName('', '', ''), /^unnamed adapter/);
});
