// Runs `mamba-audio lab` through the CLI's main() in this process (starting the
// executable costs about ten seconds per call on two busy cores): help, usage errors and
// one tiny run on the GPU.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

import { main } from '../../cli/main';
import { decodeCheckpoint } from '../../gpu/model/checkpoint';

async function lab(...args: string[]) {
  let stdout = '';
  let stderr = '';
  const status = await main(['lab', ...args], {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
  });
  return { status, stdout, stderr };
}

const dir = mkdtempSync(join(tmpdir(), 'mamba-audio-lab-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('mamba-audio lab', () => {
  test('help names the tasks and layers', async () => {
    const result = await lab('--help');
    assert.equal(result.status, 0);
    assert.match(result.stdout, /^Usage: mamba-audio lab \[options\] TASK/);
    assert.match(result.stdout, /selective-copying/);
    assert.match(result.stdout, /induction-heads/);
    assert.match(result.stdout, /--layer s6\|s4/);
  });

  test('unknown task', async () => {
    const result = await lab('copying');
    assert.equal(result.status, 2);
    assert.match(result.stderr, /unknown task 'copying'; use selective-copying or induction-heads/);
  });

  test('invalid layer', async () => {
    const result = await lab('selective-copying', '--layer', 's5');
    assert.equal(result.status, 2);
    assert.match(result.stderr, /--layer must be one of s6, s4, got 's5'/);
  });

  test('more tokens to remember than positions', async () => {
    const result = await lab('selective-copying', '--length', '4', '--memorize', '5');
    assert.equal(result.status, 2);
    assert.match(result.stderr, /memorize = 5 tokens do not fit in contextLength = 4/);
  });

  test('memorize is not an induction-heads option', async () => {
    const result = await lab('induction-heads', '--memorize', '3');
    assert.equal(result.status, 2);
    assert.match(result.stderr, /--memorize applies to selective-copying only/);
  });

  test('tiny run prints JSON and saves files', async () => {
    const checkpoint = join(dir, 'lab.safetensors');
    const example = join(dir, 'example.json');
    const result = await lab(
      'induction-heads', '--length', '8', '--vocab', '3', '--d-model', '8', '--layers', '1', '--d-state', '4',
      '--steps', '3', '--batch', '4', '--eval-sequences', '8', '--eval-factors', '1,2', '--trace-sequences', '2',
      '--json', '--save', checkpoint, '--save-example', example,
    );
    assert.equal(result.status, 0, result.stderr);
    const records = result.stdout.trim().split('\n').map((line) => JSON.parse(line));
    assert.equal(records.filter((record) => record.event === 'step').length, 3);
    const summary = records.at(-1);
    assert.equal(summary.event, 'result');
    assert.deepEqual(summary.evaluations.map((entry: { length: number }) => entry.length), [8, 16]);
    assert.ok(summary.accuracy >= 0, `accuracy ${summary.accuracy}`);
    assert.ok(summary.accuracy <= 1, `accuracy ${summary.accuracy}`);
    assert.ok(summary.deltaByRole[0].meanDelta.key > 0);

    const saved = decodeCheckpoint(readFileSync(checkpoint), checkpoint);
    assert.equal(saved.config.encoding, 'tokens');
    assert.equal(saved.config.vocabSize, 4);
    const writtenExample = JSON.parse(readFileSync(example, 'utf8'));
    assert.equal(writtenExample.tokens.length, 8);
    assert.deepEqual(writtenExample.vocabulary, ['0', '1', '2', 'trigger']);
    assert.equal(writtenExample.delta[0].length, 8);
    assert.equal(writtenExample.delta[0][0].length, 16);
  });
});
