// Decodes RIFF/WAVE files to float32 channels: PCM 8 (unsigned), 16, 24 and 32 bit, IEEE
// float 32 and 64, plain or as WAVE_FORMAT_EXTENSIBLE, and RF64/BW64.

import { AudioDecodeError, CONVERT_HINT } from './errors';
import { findWaveChunks, readFourCC, type RiffChunk } from './riff';
import type { AudioCodec, DecodedAudio } from './types';

const WAVE_FORMAT_PCM = 0x0001;
const WAVE_FORMAT_IEEE_FLOAT = 0x0003;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

/** Names of format tags that users meet, for error messages. */
const FORMAT_TAG_NAMES: Record<number, string> = {
  0x0002: 'Microsoft ADPCM',
  0x0006: 'A-law (G.711)',
  0x0007: 'mu-law (G.711)',
  0x0011: 'IMA ADPCM',
  0x0022: 'TrueSpeech',
  0x0031: 'GSM 6.10',
  0x0040: 'G.721 ADPCM',
  0x0050: 'MPEG audio',
  0x0055: 'MP3',
  0x0161: 'Windows Media Audio',
  0x1610: 'AAC',
};

/** Bytes 2..15 of every KSDATAFORMAT_SUBTYPE GUID. Bytes 0..1 contain the format tag. */
const SUBFORMAT_GUID_TAIL = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71];

interface SampleLayout {
  codec: AudioCodec;
  bytesPerSample: number;
  /** Valid bits when the header declares fewer than the container width, else the container width. */
  bitsPerSample: number;
  channelCount: number;
  sampleRateHz: number;
  /** Bytes from one frame to the next. */
  frameByteLength: number;
}

/** True when the bytes start with a RIFF-style header of a WAVE file (any byte order). */
export function isWaveHeader(bytes: Uint8Array): boolean {
  if (bytes.length < 12) return false;
  const riffId = readFourCC(bytes, 0);
  return ['RIFF', 'RF64', 'BW64', 'RIFX'].includes(riffId) && readFourCC(bytes, 8) === 'WAVE';
}

function describeFormatTag(tag: number): string {
  const hex = `0x${tag.toString(16).padStart(4, '0').toUpperCase()}`;
  const name = FORMAT_TAG_NAMES[tag];
  return name === undefined ? `format tag ${hex}` : `${name} (format tag ${hex})`;
}

function parseFormat(bytes: Uint8Array, fmt: RiffChunk, fileName: string, warnings: string[]): SampleLayout {
  if (fmt.byteLength < 16) {
    throw new AudioDecodeError(
      'invalid-header',
      fileName,
      `the WAV 'fmt ' chunk is ${fmt.byteLength} bytes long, shorter than the 16 bytes every WAV format needs`,
      'The header is damaged; export the file again',
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + fmt.payloadOffset, fmt.byteLength);
  let formatTag = view.getUint16(0, true);
  const channelCount = view.getUint16(2, true);
  const sampleRateHz = view.getUint32(4, true);
  const blockAlign = view.getUint16(12, true);
  const containerBits = view.getUint16(14, true);
  let validBits = containerBits;

  if (formatTag === WAVE_FORMAT_EXTENSIBLE) {
    if (fmt.byteLength < 40) {
      throw new AudioDecodeError(
        'invalid-header',
        fileName,
        `the WAVE_FORMAT_EXTENSIBLE 'fmt ' chunk is ${fmt.byteLength} bytes long, but the extension needs 40`,
        'The header is damaged; export the file again',
      );
    }
    const headerValidBits = view.getUint16(18, true);
    if (headerValidBits > 0 && headerValidBits <= containerBits) validBits = headerValidBits;
    formatTag = view.getUint16(24, true);
    for (let i = 0; i < SUBFORMAT_GUID_TAIL.length; i++) {
      if (view.getUint8(26 + i) !== SUBFORMAT_GUID_TAIL[i]) {
        throw new AudioDecodeError(
          'unsupported-codec',
          fileName,
          'the WAVE_FORMAT_EXTENSIBLE sub-format is a vendor GUID, not PCM or IEEE float',
          CONVERT_HINT,
        );
      }
    }
  }

  if (channelCount === 0 || sampleRateHz === 0) {
    throw new AudioDecodeError(
      'invalid-header',
      fileName,
      `the WAV header declares ${channelCount} channels at ${sampleRateHz} Hz`,
      'The header is damaged; export the file again',
    );
  }

  let codec: AudioCodec;
  let bytesPerSample: number;
  if (formatTag === WAVE_FORMAT_PCM) {
    // Widths that are not a whole number of bytes (12, 20 bit) are stored left-aligned in
    // the next byte size, so reading the container gives the right scale.
    bytesPerSample = Math.ceil(containerBits / 8);
    const codecs: Record<number, AudioCodec> = { 1: 'pcm-u8', 2: 'pcm-s16', 3: 'pcm-s24', 4: 'pcm-s32' };
    if (codecs[bytesPerSample] === undefined) {
      throw new AudioDecodeError(
        'unsupported-format',
        fileName,
        `the WAV contains ${containerBits}-bit PCM, but only 8, 16, 24 and 32 bit PCM are supported`,
        CONVERT_HINT,
      );
    }
    codec = codecs[bytesPerSample];
  } else if (formatTag === WAVE_FORMAT_IEEE_FLOAT) {
    if (containerBits !== 32 && containerBits !== 64) {
      throw new AudioDecodeError(
        'unsupported-format',
        fileName,
        `the WAV contains ${containerBits}-bit IEEE float, but only 32 and 64 bit float are supported`,
        CONVERT_HINT,
      );
    }
    codec = containerBits === 32 ? 'float32' : 'float64';
    bytesPerSample = containerBits / 8;
  } else {
    throw new AudioDecodeError(
      'unsupported-codec',
      fileName,
      `the WAV codec is ${describeFormatTag(formatTag)}, which is not supported; only PCM and IEEE float WAV are read`,
      CONVERT_HINT,
    );
  }

  const frameByteLength = channelCount * bytesPerSample;
  if (blockAlign !== frameByteLength) {
    warnings.push(
      `The WAV header's block align is ${blockAlign} bytes, but ${channelCount} channels of ${bytesPerSample} bytes need ${frameByteLength}; used ${frameByteLength}.`,
    );
  }
  return { codec, bytesPerSample, bitsPerSample: validBits, channelCount, sampleRateHz, frameByteLength };
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Deinterleaves 16-bit PCM and 32-bit float data through a typed-array view, which is
 * faster than DataView reads. Returns null for other codecs and on big-endian hosts,
 * where the view would read the bytes in the wrong order.
 */
function deinterleaveAligned(bytes: Uint8Array, dataOffset: number, frameCount: number, layout: SampleLayout): Float32Array[] | null {
  if (!LITTLE_ENDIAN_HOST || (layout.codec !== 'pcm-s16' && layout.codec !== 'float32')) return null;
  const { channelCount } = layout;
  const sampleCount = frameCount * channelCount;
  let start = bytes.byteOffset + dataOffset;
  let buffer = bytes.buffer;
  if (start % layout.bytesPerSample !== 0) {
    // Typed arrays need aligned offsets, so misaligned data is copied first. This calls
    // Uint8Array's slice because Node's Buffer.slice returns a view, not a copy.
    buffer = Uint8Array.prototype.slice.call(bytes, dataOffset, dataOffset + sampleCount * layout.bytesPerSample).buffer;
    start = 0;
  }
  const source = layout.codec === 'pcm-s16' ? new Int16Array(buffer, start, sampleCount) : new Float32Array(buffer, start, sampleCount);
  const scale = layout.codec === 'pcm-s16' ? 1 / 32768 : 1;
  const channels: Float32Array[] = [];
  for (let c = 0; c < channelCount; c++) {
    const out = new Float32Array(frameCount);
    for (let i = 0, j = c; i < frameCount; i++, j += channelCount) out[i] = source[j] * scale;
    channels.push(out);
  }
  return channels;
}

/** Converts interleaved little-endian samples to one float32 array per channel. */
function deinterleave(
  bytes: Uint8Array,
  dataOffset: number,
  frameCount: number,
  layout: SampleLayout,
  warnings: string[],
): Float32Array[] {
  const aligned = deinterleaveAligned(bytes, dataOffset, frameCount, layout);
  if (aligned !== null) {
    if (layout.codec === 'float32') replaceNonFinite(aligned, warnings);
    return aligned;
  }

  const { channelCount, codec, frameByteLength } = layout;
  const view = new DataView(bytes.buffer, bytes.byteOffset + dataOffset, frameCount * frameByteLength);
  const channels: Float32Array[] = [];
  for (let c = 0; c < channelCount; c++) channels.push(new Float32Array(frameCount));

  for (let c = 0; c < channelCount; c++) {
    const out = channels[c];
    let offset = c * layout.bytesPerSample;
    switch (codec) {
      case 'pcm-u8':
        for (let i = 0; i < frameCount; i++, offset += frameByteLength) out[i] = (view.getUint8(offset) - 128) / 128;
        break;
      case 'pcm-s16':
        for (let i = 0; i < frameCount; i++, offset += frameByteLength) out[i] = view.getInt16(offset, true) / 32768;
        break;
      case 'pcm-s24':
        for (let i = 0; i < frameCount; i++, offset += frameByteLength) {
          // Low 16 bits unsigned, high byte signed: value = high * 65536 + low.
          out[i] = (view.getInt8(offset + 2) * 65536 + view.getUint16(offset, true)) / 8388608;
        }
        break;
      case 'pcm-s32':
        for (let i = 0; i < frameCount; i++, offset += frameByteLength) out[i] = view.getInt32(offset, true) / 2147483648;
        break;
      case 'float32':
        for (let i = 0; i < frameCount; i++, offset += frameByteLength) out[i] = view.getFloat32(offset, true);
        break;
      case 'float64':
        for (let i = 0; i < frameCount; i++, offset += frameByteLength) out[i] = view.getFloat64(offset, true);
        break;
      default:
        throw new Error(`Internal error: deinterleave() has no case for codec ${codec}`);
    }
  }

  if (codec === 'float32' || codec === 'float64') replaceNonFinite(channels, warnings);
  return channels;
}

function replaceNonFinite(channels: Float32Array[], warnings: string[]): void {
  let count = 0;
  for (const channel of channels) {
    for (let i = 0; i < channel.length; i++) {
      if (!Number.isFinite(channel[i])) {
        channel[i] = 0;
        count++;
      }
    }
  }
  if (count > 0) warnings.push(`Replaced ${count} NaN or infinite float samples with 0.`);
}

/**
 * Decodes a whole WAV file. Throws AudioDecodeError for files without usable audio.
 * Recoverable problems (a data chunk shorter than its header declares, placeholder sizes,
 * a wrong block align, trailing garbage) come back as warnings.
 */
export function decodeWav(bytes: Uint8Array, fileName: string): DecodedAudio {
  if (bytes.length < 12 || !isWaveHeader(bytes)) {
    throw new AudioDecodeError('not-audio', fileName, 'the file does not start with a RIFF/WAVE header', CONVERT_HINT);
  }
  if (readFourCC(bytes, 0) === 'RIFX') {
    throw new AudioDecodeError(
      'unsupported-format',
      fileName,
      'the file is a big-endian WAV (RIFX), which is not supported',
      CONVERT_HINT,
    );
  }

  const chunks = findWaveChunks(bytes, fileName);
  const warnings = [...chunks.warnings];
  if (chunks.fmt === null) {
    throw new AudioDecodeError(
      'invalid-header',
      fileName,
      "the WAV file has no 'fmt ' chunk, so its sample format is unknown",
      'The header is damaged; export the file again',
    );
  }
  const layout = parseFormat(bytes, chunks.fmt, fileName, warnings);
  if (chunks.data === null) {
    throw new AudioDecodeError('empty', fileName, "the WAV file has no 'data' chunk, so it contains no audio", 'Open a file that contains a recording');
  }

  const frameCount = Math.floor(chunks.data.byteLength / layout.frameByteLength);
  if (chunks.dataDeclaredByteLength !== null) {
    const declaredFrames = Math.floor(chunks.dataDeclaredByteLength / layout.frameByteLength);
    if (frameCount === 0) {
      throw new AudioDecodeError(
        'truncated',
        fileName,
        `the WAV header promises ${declaredFrames} frames, but the file ends before the first whole frame`,
        'The file is incomplete; copy or export it again',
      );
    }
    warnings.push(
      `The data chunk is shorter than its header declares (${declaredFrames} frames); decoded the ${frameCount} whole frames present. The file is probably cut off.`,
    );
  } else if (frameCount === 0) {
    throw new AudioDecodeError(
      'empty',
      fileName,
      `the WAV data chunk is ${chunks.data.byteLength} bytes long, less than one frame, so the file has no audio`,
      'Open a file that contains a recording',
    );
  } else if (chunks.data.byteLength % layout.frameByteLength !== 0) {
    warnings.push(
      `The data chunk ends with ${chunks.data.byteLength % layout.frameByteLength} bytes of an incomplete frame, which were ignored.`,
    );
  }

  const channelData = deinterleave(bytes, chunks.data.payloadOffset, frameCount, layout, warnings);
  return {
    fileName,
    info: {
      container: 'wav',
      codec: layout.codec,
      sampleRateHz: layout.sampleRateHz,
      channelCount: layout.channelCount,
      frameCount,
      durationSec: frameCount / layout.sampleRateHz,
      bitsPerSample: layout.bitsPerSample,
    },
    channelData,
    warnings,
  };
}
