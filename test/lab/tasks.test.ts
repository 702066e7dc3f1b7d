// The synthetic task generators and the scoring helpers, on the CPU.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { argmaxRows, profileDeltaAroundRole, scoreBatch, summarizeDeltaByRole } from '../../gpu/lab/evaluate';
import {
  generateInductionHeads,
  generateSelectiveCopying,
  inductionTriggerToken,
  selectiveCopyingTokens,
  sequenceLength,
  taskVocabulary,
  TaskOptionsError,
  TokenRole,
  type TaskBatch,
} from '../../gpu/lab/tasks';
import type { LayerTraces } from '../../gpu/model/lm';
import { Rng } from '../../gpu/util/rng';

/** Column b of an (L, B) time-major array. */
function column<T extends ArrayLike<number>>(data: T, batch: TaskBatch, b: number): number[] {
  return Array.from({ length: batch.L }, (_, t) => data[t * batch.B + b]);
}

describe('selective copying generator', () => {
  const options = { contextLength: 40, dataVocab: 6, memorize: 5 };
  const { noise, marker } = selectiveCopyingTokens(options.dataVocab);

  test('layout of every sequence', () => {
    const batch = generateSelectiveCopying(options, 7, new Rng(3));
    assert.equal(batch.L, 45);
    assert.equal(batch.inputs.length, 45 * 7);
    for (let b = 0; b < batch.B; b++) {
      const inputs = column(batch.inputs, batch, b);
      const roles = column(batch.roles, batch, b);
      const context = inputs.slice(0, options.contextLength);
      const data = context.filter((token) => token !== noise);
      assert.equal(data.length, options.memorize, `sequence ${b}: data tokens in the context`);
      assert.ok(data.every((token) => token < options.dataVocab), `sequence ${b}: data token out of range`);
      assert.deepEqual(inputs.slice(options.contextLength), Array(options.memorize).fill(marker), `sequence ${b}: markers`);
      for (let t = 0; t < batch.L; t++) {
        let expected = TokenRole.Memorize;
        if (t >= options.contextLength) expected = TokenRole.Marker;
        else if (inputs[t] === noise) expected = TokenRole.Noise;
        assert.equal(roles[t], expected, `sequence ${b}, t = ${t}: role`);
      }
    }
  });

  test('markers are scored with the data tokens in order', () => {
    const batch = generateSelectiveCopying(options, 5, new Rng(4));
    for (let b = 0; b < batch.B; b++) {
      const inputs = column(batch.inputs, batch, b);
      const weights = column(batch.weights, batch, b);
      const targets = column(batch.targets, batch, b);
      const data = inputs.slice(0, options.contextLength).filter((token) => token !== noise);
      assert.deepEqual(weights, [...Array(options.contextLength).fill(0), ...Array(options.memorize).fill(1)], `sequence ${b}: weights`);
      assert.deepEqual(targets.slice(options.contextLength), data, `sequence ${b}: targets`);
    }
  });

  test('positions vary between sequences', () => {
    const batch = generateSelectiveCopying({ contextLength: 256, dataVocab: 8, memorize: 8 }, 16, new Rng(5));
    const layouts = new Set<string>();
    for (let b = 0; b < batch.B; b++) layouts.add(column(batch.roles, batch, b).join(''));
    assert.equal(layouts.size, 16);
  });

  test('same seed gives the same batch', () => {
    const first = generateSelectiveCopying(options, 4, new Rng(9));
    const second = generateSelectiveCopying(options, 4, new Rng(9));
    const other = generateSelectiveCopying(options, 4, new Rng(10));
    assert.deepEqual(first, second);
    assert.notDeepEqual(first.inputs, other.inputs);
  });

  test('every context position can hold a data token', () => {
    const batch = generateSelectiveCopying({ contextLength: 6, dataVocab: 3, memorize: 6 }, 3, new Rng(1));
    for (let b = 0; b < batch.B; b++) {
      assert.ok(column(batch.roles, batch, b).slice(0, 6).every((role) => role === TokenRole.Memorize));
    }
  });

  test('invalid sizes', () => {
    const rng = new Rng(1);
    assert.throws(() => generateSelectiveCopying({ contextLength: 4, dataVocab: 8, memorize: 5 }, 1, rng), TaskOptionsError);
    assert.throws(() => generateSelectiveCopying({ contextLength: 16, dataVocab: 1, memorize: 2 }, 1, rng), /dataVocab = 1/);
    assert.throws(() => generateSelectiveCopying({ contextLength: 16, dataVocab: 4, memorize: 0 }, 1, rng), /memorize = 0/);
    assert.throws(() => generateSelectiveCopying({ contextLength: 16.5, dataVocab: 4, memorize: 2 }, 1, rng), /contextLength = 16.5/);
    assert.throws(() => generateSelectiveCopying({ contextLength: 16, dataVocab: 4, memorize: 2 }, 0, rng), /B = 0/);
  });

  test('vocabulary and length', () => {
    const task = { task: 'selective-copying' as const, ...options };
    assert.deepEqual(taskVocabulary(task).names, ['0', '1', '2', '3', '4', '5', 'noise', 'marker']);
    assert.equal(taskVocabulary(task).size, 8);
    assert.equal(sequenceLength(task), 45);
  });
});

describe('induction heads generator', () => {
  const options = { length: 24, dataVocab: 5 };
  const trigger = inductionTriggerToken(options.dataVocab);

  test('trigger, key and query', () => {
    const batch = generateInductionHeads(options, 50, new Rng(2));
    assert.equal(batch.L, 24);
    const triggerPositions = new Set<number>();
    for (let b = 0; b < batch.B; b++) {
      const inputs = column(batch.inputs, batch, b);
      const roles = column(batch.roles, batch, b);
      const weights = column(batch.weights, batch, b);
      const triggers = inputs.flatMap((token, t) => (token === trigger ? [t] : []));
      assert.equal(triggers.length, 2, `sequence ${b}: trigger count`);
      assert.equal(triggers[1], options.length - 1, `sequence ${b}: query position`);
      const first = triggers[0];
      triggerPositions.add(first);
      assert.ok(first + 1 < options.length - 1, `sequence ${b}: key must precede the query`);
      assert.equal(roles[first], TokenRole.Trigger);
      assert.equal(roles[first + 1], TokenRole.Key);
      assert.equal(roles[options.length - 1], TokenRole.Query);
      assert.equal(batch.targets[(options.length - 1) * batch.B + b], inputs[first + 1], `sequence ${b}: target is the key`);
      assert.deepEqual(weights, [...Array(options.length - 1).fill(0), 1], `sequence ${b}: weights`);
      assert.ok(inputs.every((token) => token <= trigger));
    }
    assert.ok(triggerPositions.size > 10, 'the first trigger moves between sequences');
  });

  test('shortest length', () => {
    const batch = generateInductionHeads({ length: 3, dataVocab: 2 }, 4, new Rng(1));
    for (let b = 0; b < batch.B; b++) {
      assert.deepEqual(column(batch.roles, batch, b), [TokenRole.Trigger, TokenRole.Key, TokenRole.Query]);
    }
    assert.throws(() => generateInductionHeads({ length: 2, dataVocab: 2 }, 1, new Rng(1)), /length = 2/);
  });

  test('vocabulary', () => {
    assert.deepEqual(taskVocabulary({ task: 'induction-heads', ...options }).names, ['0', '1', '2', '3', '4', 'trigger']);
  });
});

describe('scoring', () => {
  test('argmax of each row', () => {
    const logits = new Float32Array([0.1, 0.9, 0.3, 2, -1, 1, -3, -2, -2.5]);
    assert.deepEqual(Array.from(argmaxRows(logits, 3)), [1, 0, 1]);
  });

  test('accuracy per answer and per sequence', () => {
    // Two sequences (B = 2) of L = 3, answers at t = 1 and t = 2.
    const batch: TaskBatch = {
      B: 2,
      L: 3,
      inputs: new Uint32Array(6),
      targets: new Uint32Array([0, 0, 4, 5, 6, 7]),
      weights: new Float32Array([0, 0, 1, 1, 1, 1]),
      roles: new Uint8Array(6),
    };
    const predictions = new Uint32Array([9, 9, 4, 5, 6, 1]);
    const score = scoreBatch(batch, predictions);
    assert.equal(score.answers, 4);
    assert.equal(score.correct, 3);
    assert.equal(score.correctSequences, 1);
    assert.deepEqual(score.correctByAnswer, [2, 1]);
  });

  test('mean delta per role', () => {
    // B = 1, L = 3, DI = 2; roles noise, memorize, noise.
    const batch: TaskBatch = {
      B: 1,
      L: 3,
      inputs: new Uint32Array(3),
      targets: new Uint32Array(3),
      weights: new Float32Array(3),
      roles: new Uint8Array([TokenRole.Noise, TokenRole.Memorize, TokenRole.Noise]),
    };
    const trace: LayerTraces = {
      delta: new Float32Array([0.1, 0.3, 2, 4, 0.5, 0.7]),
      gate: new Float32Array(6),
      stateNorm: new Float32Array(6),
    };
    const [summary] = summarizeDeltaByRole([trace], batch);
    assert.equal(summary.layer, 0);
    assert.ok(Math.abs(summary.meanDelta[TokenRole.Noise]! - 0.4) < 1e-6);
    assert.ok(Math.abs(summary.meanDelta[TokenRole.Memorize]! - 3) < 1e-6);
    assert.equal(summary.positions[TokenRole.Noise], 2);
    assert.equal(summary.meanDelta[TokenRole.Marker], undefined);
  });

  test('delta profile after anchors', () => {
    // B = 1, L = 8, DI = 1: noise, memorize, noise x3, memorize, noise, marker.
    const roles = [TokenRole.Noise, TokenRole.Memorize, TokenRole.Noise, TokenRole.Noise, TokenRole.Noise, TokenRole.Memorize, TokenRole.Noise, TokenRole.Marker];
    const batch: TaskBatch = {
      B: 1,
      L: 8,
      inputs: new Uint32Array(8),
      targets: new Uint32Array(8),
      weights: new Float32Array(8),
      roles: new Uint8Array(roles),
    };
    const trace: LayerTraces = {
      delta: new Float32Array([1, 10, 20, 30, 2, 12, 22, 99]),
      gate: new Float32Array(8),
      stateNorm: new Float32Array(8),
    };
    const [profile] = profileDeltaAroundRole([trace], batch, TokenRole.Memorize, TokenRole.Noise, 3);
    assert.deepEqual(profile.afterAnchor, [11, 21, 30]);
    // t = 0 comes before any anchor and t = 4 is 3 steps after one; the marker is not background.
    assert.equal(profile.farBackground, 1.5);
  });
});
