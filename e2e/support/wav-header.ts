// Reads sample rate, channel count and frame count from a PCM WAV file's header, so tests
// compute the values the UI must show from the file itself.

import { readFileSync } from 'node:fs';

export interface WavFacts {
  /** The fmt chunk's format tag: 1 is integer PCM, 3 is IEEE float. */
  formatTag: number;
  bitsPerSample: number;
  sampleRateHz: number;
  channelCount: number;
  frameCount: number;
  durationSec: number;
}

export function readWavFacts(path: string): WavFacts {
  const bytes = readFileSync(path);
  if (bytes.toString('ascii', 0, 4) !== 'RIFF' || bytes.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error(`readWavFacts: ${path} is not a RIFF/WAVE file`);
  }
  let offset = 12;
  let formatTag = 0;
  let bitsPerSample = 0;
  let sampleRateHz = 0;
  let channelCount = 0;
  let blockAlign = 0;
  while (offset + 8 <= bytes.length) {
    const id = bytes.toString('ascii', offset, offset + 4);
    const size = bytes.readUInt32LE(offset + 4);
    if (id === 'fmt ') {
      formatTag = bytes.readUInt16LE(offset + 8);
      bitsPerSample = bytes.readUInt16LE(offset + 22);
      channelCount = bytes.readUInt16LE(offset + 10);
      sampleRateHz = bytes.readUInt32LE(offset + 12);
      blockAlign = bytes.readUInt16LE(offset + 20);
    } else if (id === 'data') {
      const available = Math.min(size, bytes.length - offset - 8);
      const frameCount = Math.floor(available / blockAlign);
      return { formatTag, bitsPerSample, sampleRateHz, channelCount, frameCount, durationSec: frameCount / sampleRateHz };
    }
    offset += 8 + size + (size % 2);
  }
  throw new Error(`readWavFacts: ${path} has no data chunk`);
}
