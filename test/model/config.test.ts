// Model config validation: defaults, and the errors a hand-written config file can hit.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { ConfigError, DEFAULT_CONFIG, resolveConfig, type ConfigInput } from '../../gpu/model/config';

describe('resolveConfig', () => {
  test('empty input gives the defaults', () => {
    const config = resolveConfig({});
    assert.equal(config.dModel, DEFAULT_CONFIG.dModel);
    assert.equal(config.nLayers, DEFAULT_CONFIG.nLayers);
    assert.deepEqual(config.selective, Array(DEFAULT_CONFIG.nLayers).fill(true));
  });

  test('misspelled key is rejected', () => {
    const input = { dModle: 16 } as unknown as ConfigInput;
    assert.throws(() => resolveConfig(input), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /unknown key "dModle"/);
      assert.match(error.message, /dModel/);
      return true;
    });
  });

  test('a resolved config resolves again', () => {
    const config = resolveConfig({ dModel: 32, nLayers: 3 });
    assert.deepEqual(resolveConfig(config), config);
  });
});
