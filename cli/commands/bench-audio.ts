// `mamba-audio bench-audio`: times our decode + downmix + resample + WAV write against sox
// doing the same conversion of the same file, alternating runs in one process.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';

import { decodeAudio } from '../../audio/decode';
import { downmixToMono } from '../../audio/downmix';
import { readAudioFile } from '../../audio/node-file';
import { resample } from '../../audio/resample';
import { encodeWav } from '../../audio/wav-encode';
import type { ParsedArgs } from '../args';
import { EXIT_OK, type CliIo, type Command } from '../command';

const INPUT_RATE_HZ = 44100;
const SOX_PATH = 'sox';

interface OurTimings {
  readSec: number;
  decodeSec: number;
  downmixSec: number;
  resampleSec: number;
  writeSec: number;
  totalSec: number;
  outputFrameCount: number;
}

/** Ten seconds of a stereo chord sequence with decaying partials and a little noise. */
function synthesizeLoop(): Float32Array[] {
  const frameCount = INPUT_RATE_HZ * 10;
  const left = new Float32Array(frameCount);
  const right = new Float32Array(frameCount);
  const rootsHz = [220, 261.63, 329.63, 392, 293.66, 246.94, 349.23, 196];
  let noiseState = 12345;
  for (let i = 0; i < frameCount; i++) {
    const timeSec = i / INPUT_RATE_HZ;
    const note = Math.floor(timeSec / 1.25);
    const sinceOnsetSec = timeSec - note * 1.25;
    const envelope = Math.exp(-3 * sinceOnsetSec);
    let value = 0;
    for (let partial = 1; partial <= 6; partial++) {
      value += Math.sin(2 * Math.PI * rootsHz[note % rootsHz.length] * partial * timeSec) / (partial * partial);
    }
    noiseState = (noiseState * 1103515245 + 12345) % 2147483648;
    const noise = (noiseState / 1073741824 - 1) * 0.005;
    left[i] = 0.4 * envelope * value + noise;
    right[i] = 0.3 * envelope * value - noise;
  }
  return [left, right];
}

/** Decodes the source clip as 44.1 kHz stereo, duplicating mono and dropping extra channels. */
async function loopFromFile(path: string): Promise<Float32Array[]> {
  const decoded = await readAudioFile(path);
  const channels = decoded.channelData.length === 1 ? [decoded.channelData[0], decoded.channelData[0]] : decoded.channelData.slice(0, 2);
  return channels.map((channel) => resample(channel, decoded.info.sampleRateHz, INPUT_RATE_HZ));
}

function tile(loop: Float32Array[], frameCount: number): Float32Array[] {
  return loop.map((channel) => {
    const out = new Float32Array(frameCount);
    for (let offset = 0; offset < frameCount; offset += channel.length) {
      out.set(channel.subarray(0, Math.min(channel.length, frameCount - offset)), offset);
    }
    return out;
  });
}

async function runOurs(inputPath: string, outputPath: string, outputRateHz: number): Promise<OurTimings> {
  const t0 = performance.now();
  const bytes = await readFile(inputPath);
  const t1 = performance.now();
  const decoded = await decodeAudio(bytes, inputPath);
  const t2 = performance.now();
  const mono = downmixToMono(decoded.channelData).samples;
  const t3 = performance.now();
  const resampled = resample(mono, decoded.info.sampleRateHz, outputRateHz);
  const t4 = performance.now();
  await writeFile(outputPath, encodeWav([resampled], outputRateHz, 'pcm16').bytes);
  const t5 = performance.now();
  return {
    readSec: (t1 - t0) / 1000,
    decodeSec: (t2 - t1) / 1000,
    downmixSec: (t3 - t2) / 1000,
    resampleSec: (t4 - t3) / 1000,
    writeSec: (t5 - t4) / 1000,
    totalSec: (t5 - t0) / 1000,
    outputFrameCount: resampled.length,
  };
}

/** Runs `sox IN -r RATE -c 1 OUT` and returns its wall time including process start. */
function runSox(inputPath: string, outputPath: string, outputRateHz: number): number {
  const started = performance.now();
  const result = spawnSync(SOX_PATH, [inputPath, '-r', String(outputRateHz), '-c', '1', outputPath]);
  const elapsedSec = (performance.now() - started) / 1000;
  if (result.status !== 0) throw new Error(`sox failed with status ${result.status}: ${result.stderr.toString()}`);
  return elapsedSec;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function soxVersion(): string | null {
  const result = spawnSync(SOX_PATH, ['--version']);
  if (result.error !== undefined || result.status !== 0) return null;
  return result.stdout.toString().replace(/^.*?SoX/s, 'SoX').trim();
}

export const benchAudioCommand: Command = {
  name: 'bench-audio',
  summary: 'time decode + downmix + resample of a long stereo WAV against sox',
  synopsis: '[options]',
  description:
    `Writes a ${INPUT_RATE_HZ} Hz stereo 16-bit WAV to a temporary folder, then converts it to mono at\n` +
    '--rate, alternating our pipeline (read, decode, downmix, resample, write 16-bit WAV) with\n' +
    '`sox IN -r RATE -c 1 OUT`. Each side runs once untimed to warm up, then --runs times.\n' +
    'Prints the median times per step and the ratio of the medians. Without sox on the\n' +
    'PATH only our side is timed.',
  options: [
    { name: 'duration', valueName: 'SEC', description: 'length of the test file in seconds (default 300)' },
    { name: 'runs', valueName: 'N', description: 'timed runs of each side (default 3)' },
    { name: 'rate', valueName: 'HZ', description: 'output sample rate in Hz (default 16000)' },
    { name: 'source', valueName: 'FILE', description: 'clip to loop into the test file (default: a synthesized chord sequence)' },
    { name: 'json', description: 'print the figures as one JSON object' },
  ],
  positionals: [],

  async run(args: ParsedArgs, io: CliIo): Promise<number> {
    const durationSec = args.number('duration', { min: 1, max: 3600 }) ?? 300;
    const runs = args.number('runs', { integer: true, min: 1, max: 50 }) ?? 3;
    const outputRateHz = args.number('rate', { integer: true, min: 1000, max: 384000 }) ?? 16000;
    const sourcePath = args.string('source');

    const loop = sourcePath === undefined ? synthesizeLoop() : await loopFromFile(sourcePath);
    const dir = mkdtempSync(join(tmpdir(), 'mamba-audio-bench-'));
    try {
      const inputPath = join(dir, 'input.wav');
      const frameCount = Math.round(durationSec * INPUT_RATE_HZ);
      await writeFile(inputPath, encodeWav(tile(loop, frameCount), INPUT_RATE_HZ, 'pcm16').bytes);
      const inputByteLength = statSync(inputPath).size;

      const sox = soxVersion();
      const oursRuns: OurTimings[] = [];
      const soxRuns: number[] = [];
      for (let run = 0; run <= runs; run++) {
        const ours = await runOurs(inputPath, join(dir, 'ours.wav'), outputRateHz);
        const soxSec = sox === null ? null : runSox(inputPath, join(dir, 'sox.wav'), outputRateHz);
        if (run === 0) continue;
        oursRuns.push(ours);
        if (soxSec !== null) soxRuns.push(soxSec);
      }

      const medians = {
        readSec: median(oursRuns.map((r) => r.readSec)),
        decodeSec: median(oursRuns.map((r) => r.decodeSec)),
        downmixSec: median(oursRuns.map((r) => r.downmixSec)),
        resampleSec: median(oursRuns.map((r) => r.resampleSec)),
        writeSec: median(oursRuns.map((r) => r.writeSec)),
        totalSec: median(oursRuns.map((r) => r.totalSec)),
      };
      const soxSec = soxRuns.length === 0 ? null : median(soxRuns);
      const ratio = soxSec === null ? null : medians.totalSec / soxSec;
      const report = {
        input: {
          durationSec,
          sampleRateHz: INPUT_RATE_HZ,
          channelCount: 2,
          byteLength: inputByteLength,
          source: sourcePath ?? 'synthesized chord sequence',
        },
        outputRateHz,
        outputFrameCount: oursRuns[0].outputFrameCount,
        runs,
        oursMedianSec: medians,
        oursTotalsSec: oursRuns.map((r) => r.totalSec),
        soxMedianSec: soxSec,
        soxTotalsSec: soxRuns,
        ratioOursToSox: ratio,
        machine: {
          cpuModel: cpus()[0]?.model ?? 'unknown',
          cpuCount: availableParallelism(),
          node: process.version,
          sox,
        },
        date: new Date().toISOString().slice(0, 10),
      };

      if (args.flag('json')) {
        io.stdout(`${JSON.stringify(report, null, 2)}\n`);
        return EXIT_OK;
      }
      const seconds = (value: number): string => value.toFixed(3);
      const lines = [
        `Input: ${durationSec} s of ${INPUT_RATE_HZ} Hz stereo 16-bit WAV (${(inputByteLength / 1e6).toFixed(1)} MB), ${report.input.source}.`,
        `Output: ${outputRateHz} Hz mono 16-bit WAV, ${report.outputFrameCount} frames.`,
        `${runs === 1 ? 'One run' : `Medians of ${runs} runs`} after one warm-up run of each side, wall-clock seconds:`,
        '',
        '| step | ours | sox |',
        '| --- | ---: | ---: |',
        `| read file | ${seconds(medians.readSec)} | |`,
        `| decode WAV | ${seconds(medians.decodeSec)} | |`,
        `| downmix to mono | ${seconds(medians.downmixSec)} | |`,
        `| resample | ${seconds(medians.resampleSec)} | |`,
        `| encode and write WAV | ${seconds(medians.writeSec)} | |`,
        `| total | ${seconds(medians.totalSec)} | ${soxSec === null ? 'not run' : seconds(soxSec)} |`,
        '',
        ratio === null ? 'sox was not found on the PATH, so there is no ratio.' : `Ratio ours / sox: ${ratio.toFixed(2)}`,
        `All totals, ours: ${report.oursTotalsSec.map(seconds).join(', ')}; sox: ${soxRuns.length === 0 ? 'none' : soxRuns.map(seconds).join(', ')}.`,
        `Machine: ${report.machine.cpuCount} x ${report.machine.cpuModel}, Node ${report.machine.node}, ${sox ?? 'no sox'}, ${report.date}.`,
      ];
      io.stdout(`${lines.join('\n')}\n`);
      return EXIT_OK;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
