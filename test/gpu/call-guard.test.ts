// The generators' call guard: one call in flight at a time, none after destroy().
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { CallGuard } from '../../gpu/generate/call-guard';

describe('CallGuard', () => {
  test('rejects overlapping calls', async () => {
    const guard = new CallGuard();
    let release = () => {};
    const running = guard.exclusive(() => new Promise<void>((resolve) => (release = resolve)));
    await assert.rejects(guard.exclusive(async () => {}), /a step\(\) or generate\(\) call is still running/);
    assert.throws(() => guard.check(), /still running/);
    release();
    await running;
    assert.equal(await guard.exclusive(async () => 7), 7);
  });

  test('frees itself after a failed call', async () => {
    const guard = new CallGuard();
    await assert.rejects(guard.exclusive(async () => {
      throw new Error('kernel failed');
    }), /kernel failed/);
    assert.doesNotThrow(() => guard.check());
  });

  test('destroy runs once, then rejects calls', async () => {
    const guard = new CallGuard();
    assert.equal(guard.destroy(), true);
    assert.equal(guard.destroy(), false);
    assert.throws(() => guard.check(), /destroy\(\) was called; create a new generator/);
    await assert.rejects(guard.exclusive(async () => {}), /destroy\(\) was called/);
  });
});
