// Shared helpers for the audio tests: fixture locations, sox, synthetic WAV files and
// signal measurements.

import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const SOX_PATH = '/usr/bin/sox';
export const HAS_SOX = existsSync(SOX_PATH);
export const SKIP_WITHOUT_SOX = HAS_SOX ? false : `sox is not installed at ${SOX_PATH}`;

/**
 * Folder of the shared audio recordings: MAMBA_AUDIO_SHARED_DATA when set, else
 * shared/data/audio beside the repository. Throws when it is missing, because CI has it
 * and a silent skip would hide every fixture test.
 */
export function sharedAudioDir(): string {
  const fromEnv = process.env.MAMBA_AUDIO_SHARED_DATA;
  const dir = fromEnv ?? fileURLToPath(new URL('../../../shared/data/audio/', import.meta.url));
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new Error(
      `Shared audio fixtures not found at ${dir}. Set MAMBA_AUDIO_SHARED_DATA to the folder that contains nasty/ and shipped/.`,
    );
  }
  return dir.endsWith('/') ? dir : `${dir}/`;
}

export function localFixture(name: string): string {
  return fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
}

/** Runs sox with arguments and returns stdout as bytes. Throws with sox's stderr on failure. */
export function runSox(args: string[]): Buffer {
  const result = spawnSync(SOX_PATH, args, { maxBuffer: 256 * 1024 * 1024 });
  if (result.status !== 0) {
    throw new Error(`sox ${args.join(' ')} failed with status ${result.status}: ${result.stderr.toString()}`);
  }
  return result.stdout;
}

/** Reads a file's rate, channels and frame count with `sox --i`. */
export function soxInfo(path: string): { sampleRateHz: number; channelCount: number; frameCount: number } {
  const read = (flag: string): number => Number(runSox(['--i', flag, path]).toString().trim());
  return { sampleRateHz: read('-r'), channelCount: read('-c'), frameCount: read('-s') };
}

/** Decodes a file with sox to interleaved float32 samples. */
export function soxDecodeFloat(path: string): Float32Array {
  const out = runSox([path, '-t', 'f32', '-e', 'floating-point', '-']);
  return new Float32Array(out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength));
}

// --- Synthetic WAV files ---------------------------------------------------------------

export interface Chunk {
  id: string;
  payload: Uint8Array;
  /** Size to write in the header instead of the payload length. */
  declaredSize?: number;
  /** Omit the pad byte after an odd-sized payload, as some writers do. */
  omitPad?: boolean;
}

export function chunk(id: string, payload: Uint8Array | number[], declaredSize?: number): Chunk {
  return { id, payload: payload instanceof Uint8Array ? payload : Uint8Array.from(payload), declaredSize };
}

/** Builds a RIFF/WAVE file from the given chunks, with an optional RIFF size override. */
export function riffWave(chunks: Chunk[], options: { riffId?: string; riffSize?: number } = {}): Uint8Array {
  const parts: number[] = [];
  const pushId = (id: string): void => {
    for (let i = 0; i < 4; i++) parts.push(id.charCodeAt(i));
  };
  const pushUint32 = (value: number): void => {
    parts.push(value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, (value >>> 24) & 0xff);
  };
  pushId(options.riffId ?? 'RIFF');
  pushUint32(0);
  pushId('WAVE');
  for (const c of chunks) {
    pushId(c.id);
    pushUint32(c.declaredSize ?? c.payload.length);
    parts.push(...c.payload);
    if (c.payload.length % 2 === 1 && !c.omitPad) parts.push(0);
  }
  const bytes = Uint8Array.from(parts);
  new DataView(bytes.buffer).setUint32(4, options.riffSize ?? bytes.length - 8, true);
  return bytes;
}

export interface FmtOptions {
  formatTag: number;
  channelCount: number;
  sampleRateHz: number;
  bitsPerSample: number;
  blockAlign?: number;
  /** Write WAVE_FORMAT_EXTENSIBLE with this sub-format tag. */
  extensibleSubformat?: number;
  validBits?: number;
}

export function fmtChunk(options: FmtOptions): Chunk {
  const extensible = options.extensibleSubformat !== undefined;
  const payload = new Uint8Array(extensible ? 40 : 16);
  const view = new DataView(payload.buffer);
  const blockAlign = options.blockAlign ?? (options.channelCount * options.bitsPerSample) / 8;
  view.setUint16(0, extensible ? 0xfffe : options.formatTag, true);
  view.setUint16(2, options.channelCount, true);
  view.setUint32(4, options.sampleRateHz, true);
  view.setUint32(8, options.sampleRateHz * blockAlign, true);
  view.setUint16(12, blockAlign, true);
  view.setUint16(14, options.bitsPerSample, true);
  if (extensible) {
    view.setUint16(16, 22, true);
    view.setUint16(18, options.validBits ?? options.bitsPerSample, true);
    view.setUint32(20, 0x3, true);
    view.setUint16(24, options.extensibleSubformat ?? 1, true);
    payload.set([0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71], 26);
  }
  return chunk('fmt ', payload);
}

/** Little-endian bytes of integer samples of the given width (1 byte means unsigned). */
export function pcmBytes(samples: number[], bytesPerSample: number): Uint8Array {
  const bytes = new Uint8Array(samples.length * bytesPerSample);
  samples.forEach((value, i) => {
    // Signed widths use two's complement, while 8-bit values are already unsigned.
    let stored = value;
    if (bytesPerSample > 1 && value < 0) stored = value + 2 ** (8 * bytesPerSample);
    for (let b = 0; b < bytesPerSample; b++) bytes[i * bytesPerSample + b] = Math.floor(stored / 2 ** (8 * b)) & 0xff;
  });
  return bytes;
}

export function floatBytes(samples: number[], bytesPerSample: 4 | 8): Uint8Array {
  const bytes = new Uint8Array(samples.length * bytesPerSample);
  const view = new DataView(bytes.buffer);
  samples.forEach((value, i) => {
    if (bytesPerSample === 4) view.setFloat32(i * 4, value, true);
    else view.setFloat64(i * 8, value, true);
  });
  return bytes;
}

// --- Signals ---------------------------------------------------------------------------

export function sineWave(frequencyHz: number, sampleRateHz: number, frameCount: number, amplitude = 1, phase = 0): Float32Array {
  const samples = new Float32Array(frameCount);
  for (let i = 0; i < frameCount; i++) samples[i] = amplitude * Math.sin((2 * Math.PI * frequencyHz * i) / sampleRateHz + phase);
  return samples;
}

/**
 * Amplitude of the sinusoid at frequencyHz in samples[from, to), by projecting onto a
 * Hann-windowed sine and cosine. Hann sidelobes fall by 18 dB per octave, so a component
 * 20 bins away (40 Hz on a 0.5 s segment) leaks in near -100 dB.
 */
export function toneAmplitude(samples: Float32Array, frequencyHz: number, sampleRateHz: number, from = 0, to = samples.length): number {
  let sumSin = 0;
  let sumCos = 0;
  let windowSum = 0;
  const length = to - from;
  for (let i = 0; i < length; i++) {
    const window = 0.5 - 0.5 * Math.cos((2 * Math.PI * (i + 0.5)) / length);
    const angle = (2 * Math.PI * frequencyHz * (from + i)) / sampleRateHz;
    sumSin += samples[from + i] * window * Math.sin(angle);
    sumCos += samples[from + i] * window * Math.cos(angle);
    windowSum += window;
  }
  return (2 * Math.hypot(sumSin, sumCos)) / windowSum;
}

export function decibels(ratio: number): number {
  return 20 * Math.log10(ratio);
}

/** Signal-to-noise ratio in dB of an approximation against a reference. */
export function snrDb(reference: Float32Array, approximation: Float32Array): number {
  let signal = 0;
  let noise = 0;
  for (let i = 0; i < reference.length; i++) {
    signal += reference[i] ** 2;
    noise += (approximation[i] - reference[i]) ** 2;
  }
  return 10 * Math.log10(signal / noise);
}
