// The memory part of `mamba-audio bench`: generates at batch 1 for a long time and records
// the engine's allocated GPU bytes as it goes, to show that recurrent generation runs in
// constant memory however long the audio grows.
import type { GpuContext } from '../../gpu/context';
import { createGenerator } from '../../gpu/generate/generator';
import { resolveConfig, type ConfigInput, type ModelConfig } from '../../gpu/model/config';
import { initParameters } from '../../gpu/model/init';
import type { CliIo } from '../command';

export interface MemoryTarget {
  /** Generate at least this much audio, in seconds at the model's sample rate. */
  audioSeconds: number;
  /** Keep generating for at least this long, in minutes of wall-clock time. */
  minutes: number;
}

export interface MemorySnapshot {
  /** Audio generated so far, in seconds. */
  audioSec: number;
  /** Wall-clock time since generation started, in seconds. */
  wallSec: number;
  /** Bytes of every live GPU buffer the engine allocated (GpuContext.memoryStats). */
  gpuBytes: number;
  gpuBuffers: number;
  /** Resident memory of the whole process, in MiB (JavaScript heap and Dawn included). */
  rssMiB: number;
}

export interface MemoryReport {
  config: ModelConfig;
  target: MemoryTarget;
  /** Snapshots after 1 s of audio, after every further 60 s, and at the end. */
  snapshots: MemorySnapshot[];
  samples: number;
  wallSec: number;
}

/** Samples per chunk handed back by generate(); one chunk is the resolution of the snapshots. */
const CHUNK_SAMPLES = 4000;
/** Seconds of audio between snapshots after the first one, which is taken at 1 s. */
const SNAPSHOT_EVERY_SEC = 60;

/**
 * Generates from a random model at batch 1 until both targets are met, taking a snapshot
 * of the engine's memory after 1 s of audio, every 60 s after that, and at the end.
 */
export async function runMemory(ctx: GpuContext, model: ConfigInput, target: MemoryTarget, io: CliIo): Promise<MemoryReport> {
  const config = resolveConfig(model);
  const generator = createGenerator(ctx, config, initParameters(config, 1), { batch: 1 });
  const snapshots: MemorySnapshot[] = [];
  const controller = new AbortController();
  let samples = 0;
  let started = 0;

  const snapshot = () => {
    const stats = ctx.memoryStats();
    snapshots.push({
      audioSec: samples / config.sampleRateHz,
      wallSec: (performance.now() - started) / 1000,
      gpuBytes: stats.bytes,
      gpuBuffers: stats.buffers,
      rssMiB: process.memoryUsage().rss / 2 ** 20,
    });
  };

  try {
    io.stderr('memory: warm-up\n');
    await generator.warmUp();
    started = performance.now();
    let nextSnapshotSec = 1;
    await generator.generate({
      samples: 2 ** 31 - 1,
      chunkSamples: CHUNK_SAMPLES,
      temperature: 1,
      topP: 0.95,
      seed: 11,
      signal: controller.signal,
      onChunk: (codes) => {
        samples += codes[0].length;
        const audioSec = samples / config.sampleRateHz;
        if (audioSec >= nextSnapshotSec) {
          snapshot();
          const last = snapshots[snapshots.length - 1];
          io.stderr(`memory: ${last.audioSec.toFixed(0)} s of audio after ${last.wallSec.toFixed(0)} s, ${last.gpuBytes} GPU bytes in ${last.gpuBuffers} buffers\n`);
          nextSnapshotSec = nextSnapshotSec === 1 ? SNAPSHOT_EVERY_SEC : nextSnapshotSec + SNAPSHOT_EVERY_SEC;
        }
        const wallSec = (performance.now() - started) / 1000;
        if (audioSec >= target.audioSeconds && wallSec >= target.minutes * 60) controller.abort();
      },
    });
    snapshot();
  } finally {
    generator.destroy();
  }
  return { config, target, snapshots, samples, wallSec: (performance.now() - started) / 1000 };
}

/** Formats the report as a markdown table with a verdict line that compares the snapshots. */
export function formatMemory(report: MemoryReport): string[] {
  const { config, snapshots } = report;
  const first = snapshots[0];
  const growth = snapshots.map((entry) => entry.gpuBytes - first.gpuBytes);
  const maxGrowth = Math.max(...growth.map(Math.abs));
  const lines = [
    `### Generation memory, D=${config.dModel}, ${config.nLayers} layers, N=${config.dState}, batch 1`,
    '',
    `generate() with temperature 1 and top-p 0.95 from random weights, in chunks of ${CHUNK_SAMPLES} samples, ` +
      `until at least ${report.target.audioSeconds} s of audio and ${report.target.minutes} minutes of wall time. ` +
      `GPU bytes: every live buffer the engine allocated. Process RSS includes the JavaScript heap and Dawn, for reference.`,
    '',
    '| audio s | wall s | GPU bytes | GPU buffers | process RSS MiB |',
    '| ---: | ---: | ---: | ---: | ---: |',
    ...snapshots.map(
      (entry) => `| ${entry.audioSec.toFixed(1)} | ${entry.wallSec.toFixed(0)} | ${entry.gpuBytes} | ${entry.gpuBuffers} | ${entry.rssMiB.toFixed(0)} |`,
    ),
    '',
    maxGrowth === 0
      ? `GPU bytes were the same at every snapshot, from ${first.audioSec.toFixed(1)} s to ${snapshots[snapshots.length - 1].audioSec.toFixed(1)} s of audio.`
      : `GPU bytes changed by up to ${maxGrowth} bytes between snapshots.`,
  ];
  return lines;
}
