import assert from 'node:assert/strict';
import { test } from 'node:test';

import { DEFAULT_GENERATE_SETTINGS } from '../../renderer/state/generate-store';
import { parseProject, PROJECT_FORMAT, PROJECT_VERSION, serializeProject, type ProjectFile } from '../../renderer/state/project';
import { DEFAULT_TRAIN_CONFIG } from '../../renderer/state/train-store';

const defaults = { train: DEFAULT_TRAIN_CONFIG, generate: DEFAULT_GENERATE_SETTINGS };
const encode = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));

test('project round-trips', () => {
  const project: ProjectFile = {
    format: PROJECT_FORMAT,
    version: PROJECT_VERSION,
    savedAtMs: 5,
    clips: [{ name: 'a.wav', path: '/x/a.wav', region: { startSec: 1, endSec: 2 } }, { name: 'b.wav', region: null }],
    selectedClip: 'a.wav',
    train: { ...DEFAULT_TRAIN_CONFIG, learningRate: 3e-4 },
    generate: { ...DEFAULT_GENERATE_SETTINGS, usePrompt: false, temperature: 0.8 },
  };
  const parsed = parseProject(serializeProject(project), defaults);
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.project, project);
});

test('project fills missing and invalid settings from defaults', () => {
  const parsed = parseProject(encode({ format: PROJECT_FORMAT, version: 1, train: { learningRate: 'fast', batchSize: 4 }, clips: [{ name: 'a.wav', region: { startSec: 3, endSec: 1 } }, 7] }), defaults);
  assert.ok(parsed.ok);
  assert.equal(parsed.project.train.learningRate, DEFAULT_TRAIN_CONFIG.learningRate);
  assert.equal(parsed.project.train.batchSize, 4);
  assert.deepEqual(parsed.project.clips, [{ name: 'a.wav', region: null }]);
  assert.deepEqual(parsed.project.generate, DEFAULT_GENERATE_SETTINGS);
});

test('project rejects other files', () => {
  const cases: Array<[Uint8Array, RegExp]> = [
    [new Uint8Array([0xff, 0xfe]), /not valid UTF-8 JSON/],
    [encode({ format: 'something' }), /not a mamba-audio project/],
    [encode({ format: PROJECT_FORMAT, version: 2 }), /version 2 is not supported/],
  ];
  for (const [bytes, expected] of cases) {
    const parsed = parseProject(bytes, defaults);
    assert.equal(parsed.ok, false);
    assert.match(parsed.ok ? '' : parsed.message, expected);
  }
});
