import assert from 'node:assert/strict';
import { test } from 'node:test';

import { GaplessScheduler } from '../../renderer/audio/gapless-scheduler';

test('first chunk starts after the lead time', () => {
  const scheduler = new GaplessScheduler(16000, 0.1);
  const chunk = scheduler.schedule(2, 1600);
  assert.equal(chunk.startSec, 2.1);
  assert.equal(chunk.endSec, 2.2);
  assert.equal(chunk.underrun, false);
});

test('chunks follow each other without gaps', () => {
  const scheduler = new GaplessScheduler(16000, 0.1);
  const first = scheduler.schedule(0, 1000);
  const second = scheduler.schedule(0.01, 3000);
  const third = scheduler.schedule(0.05, 17);
  assert.equal(second.startSec, first.endSec);
  assert.equal(third.startSec, second.endSec);
  assert.equal(third.endSec, 0.1 + (1000 + 3000 + 17) / 16000);
});

test('start times do not drift over many chunks', () => {
  // 4410 samples at 44.1 kHz is 0.1 s, which is not exact in binary floating point;
  // summing durations would drift, counting samples must not.
  const scheduler = new GaplessScheduler(44100, 0.05);
  let chunk = scheduler.schedule(0, 4410);
  for (let i = 1; i < 36000; i++) chunk = scheduler.schedule(i * 0.1 - 0.04, 4410);
  assert.equal(chunk.endSec, 0.05 + (36000 * 4410) / 44100);
  assert.equal(scheduler.underruns, 0);
});

test('late chunk re-anchors ahead of now', () => {
  const scheduler = new GaplessScheduler(16000, 0.1);
  scheduler.schedule(0, 1600);
  const late = scheduler.schedule(5, 1600);
  assert.equal(late.underrun, true);
  assert.equal(late.startSec, 5.1);
  assert.equal(scheduler.underruns, 1);

  const next = scheduler.schedule(5.12, 800);
  assert.equal(next.underrun, false);
  assert.equal(next.startSec, late.endSec);
});

test('chunk arriving exactly at the end is not an underrun', () => {
  const scheduler = new GaplessScheduler(1000, 0);
  scheduler.schedule(0, 500);
  assert.equal(scheduler.schedule(0.5, 500).underrun, false);
});

test('bufferedSec and reset', () => {
  const scheduler = new GaplessScheduler(16000, 0.1);
  assert.equal(scheduler.bufferedSec(0), 0);
  assert.equal(scheduler.endOfScheduledSec, null);
  scheduler.schedule(1, 16000);
  assert.ok(Math.abs(scheduler.bufferedSec(1.5) - 0.6) < 1e-12, `bufferedSec is ${scheduler.bufferedSec(1.5)}`);
  scheduler.reset();
  assert.equal(scheduler.endOfScheduledSec, null);
  assert.equal(scheduler.schedule(3, 10).startSec, 3.1);
});

test('invalid arguments throw', () => {
  assert.throws(() => new GaplessScheduler(0), RangeError);
  assert.throws(() => new GaplessScheduler(16000, -1), RangeError);
  assert.throws(() => new GaplessScheduler(16000).schedule(0, 1.5), RangeError);
  assert.throws(() => new GaplessScheduler(16000).schedule(0, -1), RangeError);
});
