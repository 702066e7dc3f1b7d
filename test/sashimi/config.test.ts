// The SaShiMi backbone setting: defaults, derived block list, validation messages, parameter
// names and counts, and checkpoints that carry it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { CheckpointError, decodeCheckpoint, encodeCheckpoint } from '../../gpu/model/checkpoint';
import { ConfigError, parameterCount, parameterSpecs, resolveConfig, type ConfigInput } from '../../gpu/model/config';
import { initParameters } from '../../gpu/model/init';
import { checkSequenceLength, poolProduct, sashimiLevels } from '../../gpu/model/sashimi-config';
import { encodeSafetensors, type SafetensorsTensor } from '../../gpu/model/safetensors';

function rejects(input: ConfigInput, pattern: RegExp): void {
  assert.throws(() => resolveConfig(input), (error: Error) => {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${error.name}: ${error.message}`);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('SaShiMi config', () => {
  test('defaults give two stages of 4', () => {
    const config = resolveConfig({ backbone: 'sashimi' });
    assert.deepEqual(config.sashimi, {
      pool: [4, 4],
      widthExpand: 2,
      downBlocks: 2,
      centerBlocks: 2,
      upBlocks: 2,
      selective: { down: [true, true], center: true, up: [true, true] },
    });
    assert.equal(config.nLayers, 10);
    assert.deepEqual(config.selective, Array(10).fill(true));
    assert.equal(poolProduct(config), 16);
    assert.deepEqual(sashimiLevels(config).map((level) => [level.dModel, level.pool, level.stride]), [[64, 4, 1], [128, 4, 4], [256, 0, 16]]);
  });

  test('flat config has no backbone field', () => {
    const config = resolveConfig({ dModel: 16, nLayers: 2 });
    assert.equal('backbone' in config, false);
    assert.equal('sashimi' in config, false);
    assert.deepEqual(resolveConfig({ dModel: 16, nLayers: 2, backbone: 'flat' }), config);
    assert.equal(poolProduct(config), 1);
  });

  test('per-stage selectivity lists blocks in forward order', () => {
    const config = resolveConfig({
      backbone: 'sashimi',
      sashimi: { pool: [2, 2], downBlocks: 1, centerBlocks: 2, upBlocks: 1, selective: { down: [true, false], center: false, up: [false, true] } },
    });
    // down 0, down 1, center x2, up 1, up 0
    assert.deepEqual(config.selective, [true, false, false, false, true, false]);
    const names = parameterSpecs(config).map((spec) => spec.name);
    assert.ok(names.includes('backbone.down.1.layers.0.mixer.x_proj.bias'));
    assert.ok(names.includes('backbone.down.0.layers.0.mixer.x_proj.weight'));
    assert.ok(names.includes('backbone.up.0.layers.0.mixer.x_proj.bias'));
    assert.ok(names.includes('backbone.up.1.layers.0.mixer.x_proj.weight'));
  });

  test('top-level selective false applies to every stage', () => {
    const config = resolveConfig({ backbone: 'sashimi', selective: false, sashimi: { pool: [2], downBlocks: 1, centerBlocks: 1, upBlocks: 1 } });
    assert.deepEqual(config.selective, [false, false, false]);
  });

  test('resolving a resolved config changes nothing', () => {
    const config = resolveConfig({ backbone: 'sashimi', dModel: 16, sashimi: { pool: [2, 4], selective: { down: false } } });
    assert.deepEqual(resolveConfig(JSON.parse(JSON.stringify(config))), config);
  });

  test('parameter names and shapes', () => {
    const config = resolveConfig({ backbone: 'sashimi', dModel: 8, dState: 4, dtRank: 2, sashimi: { pool: [4], downBlocks: 1, centerBlocks: 1, upBlocks: 1 } });
    const shapes = new Map(parameterSpecs(config).map((spec) => [spec.name, spec.shape]));
    assert.deepEqual(shapes.get('backbone.down.0.pool.weight'), [16, 32]);
    assert.deepEqual(shapes.get('backbone.down.0.pool.bias'), [16]);
    assert.deepEqual(shapes.get('backbone.up.0.pool.weight'), [32, 16]);
    assert.deepEqual(shapes.get('backbone.up.0.pool.bias'), [32]);
    assert.deepEqual(shapes.get('backbone.center.layers.0.mixer.in_proj.weight'), [64, 16]);
    assert.deepEqual(shapes.get('backbone.down.0.layers.0.mixer.in_proj.weight'), [32, 8]);
    assert.deepEqual(shapes.get('backbone.up.0.layers.0.norm.weight'), [8]);
    assert.deepEqual(shapes.get('backbone.embedding.weight'), [256, 8]);
    // Sum of every shape: the count printed by the CLI.
    const total = parameterSpecs(config).reduce((sum, spec) => sum + spec.shape.reduce((a, b) => a * b, 1), 0);
    assert.equal(parameterCount(config), total);
    const params = initParameters(config, 1);
    assert.equal([...params.values()].reduce((sum, values) => sum + values.length, 0), total);
  });

  test('invalid settings name the value and the fix', () => {
    rejects({ backbone: 'unet' as never }, /backbone = "unet"; use "flat" .* or "sashimi"/);
    rejects({ sashimi: { pool: [4] } }, /"sashimi" settings are given, but backbone is not "sashimi"/);
    rejects({ backbone: 'sashimi', sashimi: { pool: [4, 1] } }, /sashimi\.pool\[1\] = 1 must be an integer >= 2; a factor of 1 does not pool/);
    rejects({ backbone: 'sashimi', sashimi: { pool: 4 as never } }, /sashimi\.pool = 4 must be a list of pooling factors/);
    rejects({ backbone: 'sashimi', sashimi: { widthExpand: 0 } }, /sashimi\.widthExpand = 0 must be an integer >= 1/);
    rejects({ backbone: 'sashimi', sashimi: { downBlocks: -1 } }, /sashimi\.downBlocks = -1 must be an integer >= 0/);
    rejects({ backbone: 'sashimi', sashimi: { pools: [4] } as never }, /sashimi\.pools is not a SaShiMi setting/);
    rejects({ backbone: 'sashimi', sashimi: { pool: [2, 2], selective: { down: [true] } } }, /sashimi\.selective\.down = \[true\]; give one boolean .* a list of 2 booleans/);
    rejects({ backbone: 'sashimi', sashimi: { selective: { middle: true } as never } }, /sashimi\.selective\.middle is not a stage/);
    rejects({ backbone: 'sashimi', sashimi: { pool: [], centerBlocks: 0 } }, /needs at least one Mamba block/);
    rejects({ backbone: 'sashimi', nLayers: 3, sashimi: { pool: [2] } }, /nLayers = 3, but this sashimi backbone has 6 blocks .*remove nLayers/);
    rejects({ backbone: 'sashimi', selective: [true, false, true], sashimi: { pool: [2], downBlocks: 1, centerBlocks: 1, upBlocks: 1 } }, /does not match the stages' flags \[true,true,true\]/);
    rejects({ backbone: 'sashimi', dModel: 512, sashimi: { pool: [2, 2, 2, 2, 2] } }, /innermost level would be 16384 wide/);
    rejects({ backbone: 'sashimi', dState: 300 }, /dState = 300/);
  });

  test('window length must be a multiple of the pool product', () => {
    const config = resolveConfig({ backbone: 'sashimi', sashimi: { pool: [4, 4] } });
    assert.doesNotThrow(() => checkSequenceLength(config, 2048));
    assert.throws(() => checkSequenceLength(config, 1000, 'set --window to a multiple of it'), (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /pool factors \[4,4\] .* multiples of 16 time steps, and L = 1000 is not one; set --window to a multiple of it \(e\.g\. 1008\)/);
      return true;
    });
  });
});

describe('SaShiMi checkpoints', () => {
  const config = resolveConfig({ backbone: 'sashimi', dModel: 8, dState: 4, dtRank: 2, sashimi: { pool: [2], downBlocks: 1, centerBlocks: 1, upBlocks: 1, selective: { center: false } } });

  test('round trip keeps config and weights', () => {
    const params = initParameters(config, 3);
    const back = decodeCheckpoint(encodeCheckpoint({ config, params, trainer: { step: 4 } }), 'unet.safetensors');
    assert.deepEqual(back.config, config);
    assert.deepEqual(back.trainer, { step: 4 });
    for (const spec of parameterSpecs(config)) assert.deepEqual(back.params.get(spec.name), params.get(spec.name), spec.name);
  });

  test('wrong pool shape names the tensor', () => {
    const params = initParameters(config, 3);
    const tensors = new Map<string, SafetensorsTensor>();
    for (const spec of parameterSpecs(config)) tensors.set(spec.name, { shape: spec.shape, data: params.get(spec.name)! });
    tensors.set('backbone.up.0.pool.weight', { shape: [16, 8], data: new Float32Array(128) });
    const bytes = encodeSafetensors(tensors, { config: JSON.stringify(config) });
    assert.throws(() => decodeCheckpoint(bytes, 'bad.safetensors'), (error: Error) => {
      assert.ok(error instanceof CheckpointError);
      assert.match(error.message, /bad\.safetensors: tensor backbone\.up\.0\.pool\.weight has shape \[16,8\], but the model config needs \[16,16\]/);
      return true;
    });
  });

  test('missing block tensor is named', () => {
    const params = initParameters(config, 3);
    const tensors = new Map<string, SafetensorsTensor>();
    for (const spec of parameterSpecs(config)) if (spec.name !== 'backbone.center.layers.0.mixer.x_proj.bias') tensors.set(spec.name, { shape: spec.shape, data: params.get(spec.name)! });
    const bytes = encodeSafetensors(tensors, { config: JSON.stringify(config) });
    assert.throws(() => decodeCheckpoint(bytes, 'cut.safetensors'), /tensor backbone\.center\.layers\.0\.mixer\.x_proj\.bias is missing \(expected shape \[10\]\)/);
  });

  test('invalid stored config is rejected', () => {
    const params = initParameters(config, 3);
    const tensors = new Map<string, SafetensorsTensor>();
    for (const spec of parameterSpecs(config)) tensors.set(spec.name, { shape: spec.shape, data: params.get(spec.name)! });
    const broken = { ...config, sashimi: { ...config.sashimi, pool: [1] } };
    const bytes = encodeSafetensors(tensors, { config: JSON.stringify(broken) });
    assert.throws(() => decodeCheckpoint(bytes, 'odd.safetensors'), /odd\.safetensors: its model config is invalid: .*sashimi\.pool\[0\] = 1/);
  });
});
