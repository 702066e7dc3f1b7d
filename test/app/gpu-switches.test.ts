import assert from 'node:assert/strict';
import { test } from 'node:test';

import { CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY_META } from '../../app/csp';
import { formatSwitches, mergeFeatureList, webGpuSwitches } from '../../app/gpu-switches';

test('webGpuSwitches enables WebGPU and Vulkan on Linux', () => {
  assert.deepEqual(formatSwitches(webGpuSwitches('linux', {})), ['--enable-webgpu-developer-features', '--enable-unsafe-webgpu', '--enable-features=Vulkan']);
});

test('webGpuSwitches leaves other platforms on defaults', () => {
  assert.deepEqual(formatSwitches(webGpuSwitches('win32', {})), ['--enable-webgpu-developer-features']);
  assert.deepEqual(formatSwitches(webGpuSwitches('darwin', {})), ['--enable-webgpu-developer-features']);
});

test('webGpuSwitches honours the environment', () => {
  assert.deepEqual(webGpuSwitches('linux', { MAMBA_AUDIO_WEBGPU_SWITCHES: 'off' }), []);
  const angle = formatSwitches(webGpuSwitches('linux', { MAMBA_AUDIO_WEBGPU_ANGLE: 'vulkan' }));
  assert.ok(angle.includes('--use-angle=vulkan'));
  assert.ok(angle.includes('--use-webgpu-adapter=opengles'));
});

test('mergeFeatureList keeps existing features', () => {
  assert.equal(mergeFeatureList('', 'Vulkan'), 'Vulkan');
  assert.equal(mergeFeatureList('Foo,Bar', 'Vulkan'), 'Foo,Bar,Vulkan');
  assert.equal(mergeFeatureList('Vulkan,Foo', 'Vulkan'), 'Vulkan,Foo');
});

test('content security policy forbids eval and remote origins', () => {
  assert.match(CONTENT_SECURITY_POLICY_META, /default-src 'none'/);
  assert.match(CONTENT_SECURITY_POLICY_META, /script-src 'self' 'wasm-unsafe-eval'(;|$)/);
  assert.doesNotMatch(CONTENT_SECURITY_POLICY, /'unsafe-eval'|https?:|\*/);
  assert.match(CONTENT_SECURITY_POLICY, /frame-ancestors 'none'$/);
  assert.doesNotMatch(CONTENT_SECURITY_POLICY_META, /frame-ancestors/);
});
