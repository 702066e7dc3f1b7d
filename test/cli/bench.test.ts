// Runs the real `mamba-audio bench --quick --json` and checks that every figure is a
// positive number. Timings on a shared machine vary too much to assert on their values.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';

import { RECORD_HEADING, replaceRecordSection, wrapText, type BenchReport } from '../../cli/commands/bench';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(REPO_ROOT, 'cli', 'bin', 'mamba-audio.js');

function bench(...args: string[]) {
  return spawnSync(process.execPath, [BIN, 'bench', ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 600_000 });
}

function assertPositive(value: unknown, label: string): void {
  assert.equal(typeof value, 'number', `${label} is not a number: ${JSON.stringify(value)}`);
  assert.ok(Number.isFinite(value), `${label} = ${value}`);
  assert.ok((value as number) > 0, `${label} = ${value}`);
}

function assertStats(stats: { min: number; median: number; runs: number[] }, runs: number, label: string): void {
  assertPositive(stats.min, `${label}.min`);
  assertPositive(stats.median, `${label}.median`);
  assert.equal(stats.runs.length, runs, `${label}.runs`);
  for (const [i, value] of stats.runs.entries()) assertPositive(value, `${label}.runs[${i}]`);
  assert.ok(stats.min <= stats.median, `${label}: min ${stats.min} > median ${stats.median}`);
}

describe('mamba-audio bench', () => {
  test('quick memory part stays flat', { timeout: 600_000 }, () => {
    const result = bench('--quick', '--only', 'memory', '--audio-seconds', '2', '--json');
    assert.equal(result.status, 0, result.stderr);
    const report = JSON.parse(result.stdout) as BenchReport;
    const snapshots = report.memory!.snapshots;
    // One snapshot after 1 s of audio, one at the end.
    assert.ok(snapshots.length >= 2, `${snapshots.length} snapshots`);
    assert.ok(snapshots[0].audioSec >= 1, `first snapshot at ${snapshots[0].audioSec} s`);
    assert.ok(snapshots[snapshots.length - 1].audioSec >= 2, `last snapshot at ${snapshots[snapshots.length - 1].audioSec} s`);
    assertPositive(snapshots[0].gpuBytes, 'first snapshot gpuBytes');
    for (const entry of snapshots) assert.equal(entry.gpuBytes, snapshots[0].gpuBytes, `GPU bytes at ${entry.audioSec} s`);
    for (const entry of snapshots) assert.equal(entry.gpuBuffers, snapshots[0].gpuBuffers, `GPU buffers at ${entry.audioSec} s`);
  });

  test('quick json figures are positive', { timeout: 600_000 }, () => {
    const result = bench('--quick', '--json');
    assert.equal(result.status, 0, result.stderr);
    const report = JSON.parse(result.stdout) as BenchReport;

    assert.equal(report.quick, true);
    assert.ok(report.adapter.length > 0, 'adapter name');
    assertPositive(report.machine.cpuCount, 'machine.cpuCount');
    assertPositive(report.machine.memoryGiB, 'machine.memoryGiB');
    assertPositive(report.totalSec, 'totalSec');
    const runs = report.repeats;

    const scan = report.scan!;
    for (const key of ['gpuForwardSec', 'gpuBackwardSec', 'referenceForwardSec', 'referenceBackwardSec'] as const) assertStats(scan[key], runs, `scan.${key}`);

    const train = report.train!;
    assertStats(train.batch.stepSec, runs, 'train.batch.stepSec');
    assertStats(train.batch.forwardSec, runs, 'train.batch.forwardSec');
    assertPositive(train.batch.tokensPerSec, 'train.batch.tokensPerSec');
    assertPositive(train.batch.forwardTokensPerSec, 'train.batch.forwardTokensPerSec');
    assertStats(train.reference.forwardSec, runs, 'train.reference.forwardSec');
    assertPositive(train.reference.tokensPerSec, 'train.reference.tokensPerSec');
    assert.ok(train.growth.length >= 2, 'growth series has at least two lengths');
    for (const row of train.growth) {
      for (const key of ['L', 'stepSec', 'tokensPerSec', 'usPerToken'] as const) assertPositive(row[key], `train.growth L=${row.L} ${key}`);
    }

    const generate = report.generate!;
    assert.ok(generate.runs.length >= 2, 'generation at two batch sizes or more');
    for (const row of [...generate.runs, generate.unet.run]) {
      assertStats(row.sec, runs, `generate B=${row.batch} sec`);
      for (const key of ['batch', 'samplesPerStream', 'samplesPerSec', 'perStreamSamplesPerSec', 'realTimeFactorPerStream'] as const) {
        assertPositive(row[key], `generate B=${row.batch} ${key}`);
      }
    }
    assert.equal(generate.unet.config.backbone, 'sashimi');
    assert.equal(generate.unet.run.batch, 1);
  });

  test('record needs the full run', () => {
    const result = bench('--quick', '--record');
    assert.equal(result.status, 2);
    assert.match(result.stderr, /--record stores the full run/);
  });

  test('unknown part', () => {
    const result = bench('--only', 'decode');
    assert.equal(result.status, 2);
    assert.match(result.stderr, /--only must be one of scan, train, generate, memory, got 'decode'/);
  });
});

describe('benchmarks page record', () => {
  const section = `${RECORD_HEADING}\n\nnew table\n`;

  test('appended when absent', () => {
    const page = '# Benchmarks\n\n## Audio decode\n\nold text\n';
    assert.equal(replaceRecordSection(page, section), `# Benchmarks\n\n## Audio decode\n\nold text\n\n${RECORD_HEADING}\n\nnew table\n`);
  });

  test('replaced between headings', () => {
    const page = `# Benchmarks\n\n## Audio decode\n\nA\n\n${RECORD_HEADING}\n\nold table\n\n#### sub\n\n## Generation\n\nB\n`;
    assert.equal(replaceRecordSection(page, section), `# Benchmarks\n\n## Audio decode\n\nA\n\n${RECORD_HEADING}\n\nnew table\n\n## Generation\n\nB\n`);
  });

  test('prose wrapped at the width', () => {
    assert.equal(wrapText('aaa bbb ccc dddd', 7), 'aaa bbb\nccc\ndddd');
    assert.equal(wrapText('longerthanwidth x', 5), 'longerthanwidth\nx');
  });

  test('replaced at the end', () => {
    const page = `# Benchmarks\n\n${RECORD_HEADING}\n\nold table\n`;
    assert.equal(replaceRecordSection(page, section), `# Benchmarks\n\n${RECORD_HEADING}\n\nnew table\n`);
  });
});
