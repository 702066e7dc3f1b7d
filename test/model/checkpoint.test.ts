// Checkpoint round trips, PyTorch-style state dicts without metadata, and the errors a
// damaged or mismatched file gets.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { decodeCheckpoint, decodeOptimizerState, encodeCheckpoint, encodeOptimizerState, CheckpointError } from '../../gpu/model/checkpoint';
import { parameterCount, parameterSpecs, resolveConfig, EMBEDDING, HEAD } from '../../gpu/model/config';
import { initParameters } from '../../gpu/model/init';
import { decodeSafetensors, encodeSafetensors, SafetensorsError, type SafetensorsTensor } from '../../gpu/model/safetensors';

const config = resolveConfig({ dModel: 16, nLayers: 2, dState: 8, selective: [true, false] });

test('checkpoint round trip keeps config, weights and trainer state', () => {
  const params = initParameters(config, 3);
  const bytes = encodeCheckpoint({ config, params, trainer: { step: 12, lr: 0.001 } });
  const back = decodeCheckpoint(bytes, 'round-trip.safetensors');
  assert.deepEqual(back.config, config);
  assert.deepEqual(back.trainer, { step: 12, lr: 0.001 });
  for (const spec of parameterSpecs(config)) assert.deepEqual(back.params.get(spec.name), params.get(spec.name), spec.name);
});

test('safetensors header is 8-byte aligned', () => {
  const bytes = encodeCheckpoint({ config, params: initParameters(config, 1) });
  const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal((8 + headerLength) % 8, 0);
});

test('plain state dict infers config and ties the head', () => {
  const params = initParameters(config, 5);
  const tensors = new Map<string, SafetensorsTensor>();
  for (const spec of parameterSpecs(config)) if (spec.name !== HEAD) tensors.set(spec.name, { shape: spec.shape, data: params.get(spec.name)! });
  const back = decodeCheckpoint(encodeSafetensors(tensors), 'pytorch.safetensors');
  assert.equal(back.config.dModel, 16);
  assert.equal(back.config.nLayers, 2);
  assert.equal(back.config.dtRank, 1);
  assert.deepEqual(back.config.selective, [true, false]);
  assert.deepEqual(back.params.get(HEAD), params.get(EMBEDDING));
  assert.equal(parameterCount(back.config), parameterCount(config));
});

test('wrong shape names tensor and shapes', () => {
  const params = initParameters(config, 5);
  const tensors = new Map<string, SafetensorsTensor>();
  for (const spec of parameterSpecs(config)) tensors.set(spec.name, { shape: spec.shape, data: params.get(spec.name)! });
  tensors.set('backbone.layers.1.mixer.D', { shape: [31], data: new Float32Array(31) });
  const bytes = encodeSafetensors(tensors, { config: JSON.stringify(config) });
  assert.throws(() => decodeCheckpoint(bytes, 'bad.safetensors'), (error: Error) => {
    assert.ok(error instanceof CheckpointError);
    assert.match(error.message, /bad\.safetensors: tensor backbone\.layers\.1\.mixer\.D has shape \[31\], but the model config needs \[32\]/);
    return true;
  });
});

test('truncated file is rejected', () => {
  const bytes = encodeCheckpoint({ config, params: initParameters(config, 1) });
  assert.throws(() => decodeCheckpoint(bytes.subarray(0, bytes.length - 100), 'cut.safetensors'), SafetensorsError);
  assert.throws(() => decodeSafetensors(new Uint8Array(4), 'tiny.safetensors'), /only 4 bytes/);
  const garbage = new Uint8Array(64);
  new DataView(garbage.buffer).setBigUint64(0, 20n, true);
  assert.throws(() => decodeSafetensors(garbage, 'garbage.safetensors'), /header is not JSON/);
});

test('non-finite weight is rejected', () => {
  const params = initParameters(config, 2);
  params.get(HEAD)![7] = NaN;
  const bytes = encodeCheckpoint({ config, params });
  assert.throws(() => decodeCheckpoint(bytes, 'nan.safetensors'), /lm_head\.weight contains a non-finite value at index 7/);
});

test('optimizer state round trip and mismatch', () => {
  const params = initParameters(config, 2);
  const m = new Map([...params].map(([name, data]) => [name, data.map((v) => v * 0.5)]));
  const v = new Map([...params].map(([name, data]) => [name, data.map((x) => x * x)]));
  const bytes = encodeOptimizerState({ step: 40, m, v });
  const back = decodeOptimizerState(bytes, 'opt.safetensors', config);
  assert.equal(back.step, 40);
  assert.deepEqual(back.m.get(EMBEDDING), m.get(EMBEDDING));
  const other = resolveConfig({ dModel: 32, nLayers: 2, dState: 8 });
  assert.throws(() => decodeOptimizerState(bytes, 'opt.safetensors', other), /optimizer tensor exp_avg\.backbone\.embedding\.weight has 4096 values; the model needs 8192/);
});
