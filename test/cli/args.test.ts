import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { formatOptions, parseArgs, UsageError, type OptionSpec, type PositionalSpec } from '../../cli/args';

const OPTIONS: OptionSpec[] = [
  { name: 'rate', short: 'r', valueName: 'HZ', description: 'output rate in Hz (default 16000)' },
  { name: 'json', description: 'print JSON' },
  { name: 'gain', valueName: 'DB', description: 'gain in dB' },
  { name: 'format', valueName: 'FORMAT', description: 'pcm16 or float32' },
];
const POSITIONALS: PositionalSpec[] = [
  { name: 'IN', description: 'input' },
  { name: 'OUT', description: 'output', optional: true },
];

function usageError(run: () => unknown, pattern: RegExp): void {
  assert.throws(run, (error: unknown) => error instanceof UsageError && pattern.test(error.message));
}

describe('parseArgs', () => {
  test('values, flags and positionals', () => {
    const args = parseArgs(['--rate', '22050', 'in.wav', '--json', 'out.wav'], OPTIONS, POSITIONALS);
    assert.deepEqual(args.positionals, ['in.wav', 'out.wav']);
    assert.equal(args.number('rate', { integer: true }), 22050);
    assert.equal(args.flag('json'), true);
    assert.equal(args.flag('gain'), false);
    assert.equal(args.string('gain'), undefined);
    assert.equal(args.help, false);
  });

  test('equals form and short alias', () => {
    assert.equal(parseArgs(['--rate=8000', 'a'], OPTIONS, POSITIONALS).string('rate'), '8000');
    assert.equal(parseArgs(['-r', '8000', 'a'], OPTIONS, POSITIONALS).string('rate'), '8000');
  });

  test('negative number as value', () => {
    assert.equal(parseArgs(['--gain', '-6', 'a'], OPTIONS, POSITIONALS).number('gain'), -6);
  });

  test('last repeated value wins', () => {
    assert.equal(parseArgs(['--rate', '1', '--rate', '2', 'a'], OPTIONS, POSITIONALS).string('rate'), '2');
  });

  test('double dash ends options', () => {
    const args = parseArgs(['--', '--json', '-r'], OPTIONS, POSITIONALS);
    assert.deepEqual(args.positionals, ['--json', '-r']);
    assert.equal(args.flag('json'), false);
  });

  test('single dash is positional', () => {
    assert.deepEqual(parseArgs(['-'], OPTIONS, POSITIONALS).positionals, ['-']);
  });

  test('help skips validation', () => {
    assert.equal(parseArgs(['--help'], OPTIONS, POSITIONALS).help, true);
    assert.equal(parseArgs(['--bogus', '-h'], OPTIONS, POSITIONALS).help, true);
    assert.equal(parseArgs(['a', '--', '--help'], OPTIONS, POSITIONALS).help, false);
  });

  test('unknown option', () => {
    usageError(() => parseArgs(['--bogus', 'a'], OPTIONS, POSITIONALS), /^unknown option --bogus$/);
    usageError(() => parseArgs(['-x', 'a'], OPTIONS, POSITIONALS), /^unknown option -x$/);
  });

  test('misspelled option gets a suggestion', () => {
    usageError(() => parseArgs(['--fromat', 'pcm16', 'a'], OPTIONS, POSITIONALS), /^unknown option --fromat; did you mean --format\?$/);
    usageError(() => parseArgs(['--rates=8000', 'a'], OPTIONS, POSITIONALS), /^unknown option --rates=8000; did you mean --rate\?$/);
    // Two of four letters differ: too far to guess.
    usageError(() => parseArgs(['--gist', 'a'], OPTIONS, POSITIONALS), /^unknown option --gist$/);
  });

  test('missing value', () => {
    usageError(() => parseArgs(['a', '--rate'], OPTIONS, POSITIONALS), /--rate needs a value \(HZ\)/);
    usageError(() => parseArgs(['a', '--rate', '--', 'b'], OPTIONS, POSITIONALS), /--rate needs a value/);
  });

  test('value given to a flag', () => {
    usageError(() => parseArgs(['--json=yes', 'a'], OPTIONS, POSITIONALS), /--json takes no value/);
  });

  test('positional counts', () => {
    usageError(() => parseArgs([], OPTIONS, POSITIONALS), /^missing IN$/);
    usageError(() => parseArgs(['a', 'b', 'c'], OPTIONS, POSITIONALS), /^unexpected argument 'c'$/);
  });

  test('number validation', () => {
    usageError(() => parseArgs(['--rate', 'fast', 'a'], OPTIONS, POSITIONALS).number('rate'), /--rate must be a number, got 'fast'/);
    usageError(() => parseArgs(['--rate', '1.5', 'a'], OPTIONS, POSITIONALS).number('rate', { integer: true }), /must be an integer/);
    usageError(() => parseArgs(['--rate', '10', 'a'], OPTIONS, POSITIONALS).number('rate', { min: 1000, max: 2000 }), /from 1000 to 2000, got 10/);
    usageError(() => parseArgs(['--rate=', 'a'], OPTIONS, POSITIONALS).number('rate'), /must be a number, got ''/);
  });

  test('choice validation', () => {
    const args = parseArgs(['--format', 'mp3', 'a'], OPTIONS, POSITIONALS);
    usageError(() => args.choice('format', ['pcm16', 'float32']), /--format must be one of pcm16, float32, got 'mp3'/);
    assert.equal(parseArgs(['--format', 'pcm16', 'a'], OPTIONS, POSITIONALS).choice('format', ['pcm16', 'float32']), 'pcm16');
  });
});

describe('formatOptions', () => {
  test('aligns descriptions and adds help', () => {
    const lines = formatOptions(OPTIONS).split('\n');
    assert.equal(lines.length, OPTIONS.length + 1);
    assert.match(lines[0], /^ {2}-r, --rate HZ {2,}output rate in Hz \(default 16000\)$/);
    assert.match(lines[lines.length - 1], /-h, --help +print this help and exit$/);
    const column = lines[0].indexOf('output');
    for (const line of lines) assert.equal(line.length > column && line[column - 1] === ' ' && line[column] !== ' ', true, line);
  });
});
