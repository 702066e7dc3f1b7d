// Encodes float32 channels as a WAV file: 16-bit PCM or 32-bit IEEE float.

/** Sample format of an exported WAV file. */
export type WavSampleFormat = 'pcm16' | 'float32';

/** An encoded file plus counts of the samples that the encoder had to change. */
export interface WavEncodeResult {
  bytes: Uint8Array;
  /** pcm16 only: samples beyond [-1, 1] that were clamped to -32768 or 32767. */
  clippedSampleCount: number;
  /** NaN samples written as 0 and infinite samples written as -1 or 1 (before scaling). */
  nonFiniteSampleCount: number;
}

const WAVE_FORMAT_PCM = 0x0001;
const WAVE_FORMAT_IEEE_FLOAT = 0x0003;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Largest data chunk a 32-bit RIFF size field can describe. */
const MAX_DATA_BYTE_LENGTH = 0xffffffff - 36 - 40;

/**
 * Converts one sample to 16-bit PCM: x * 32768, rounded half up, clamped to
 * [-32768, 32767]. This is the inverse of the decoder's x / 32768, so 16-bit audio survives
 * a decode/encode round trip bit for bit. Clamping never wraps: -1.5 and -1 give -32768,
 * 1 and 1.5 give 32767.
 */
export function floatToPcm16(sample: number): number {
  const scaled = Math.round(sample * 32768);
  if (scaled > 32767) return 32767;
  if (scaled < -32768) return -32768;
  return scaled;
}

function sanitize(sample: number): number {
  if (Number.isNaN(sample)) return 0;
  if (sample === Infinity) return 1;
  if (sample === -Infinity) return -1;
  return sample;
}

/**
 * Encodes channels of equal length as a WAV file. Mono and stereo use the plain PCM or
 * IEEE float header (with a fact chunk for float). More channels use
 * WAVE_FORMAT_EXTENSIBLE with the first speaker positions, as the WAV specification requires.
 * float32 keeps values beyond [-1, 1] as they are, so a later gain change can recover them.
 * Throws RangeError for unequal lengths, a bad rate or a data chunk over 4 GiB.
 */
export function encodeWav(channelData: readonly Float32Array[], sampleRateHz: number, format: WavSampleFormat): WavEncodeResult {
  const channelCount = channelData.length;
  if (channelCount === 0 || channelCount > 18) {
    throw new RangeError(`encodeWav: channel count must be 1 to 18, got ${channelCount}`);
  }
  if (!Number.isInteger(sampleRateHz) || sampleRateHz <= 0 || sampleRateHz > 0xffffffff) {
    throw new RangeError(`encodeWav: sample rate must be a positive integer in Hz, got ${sampleRateHz}`);
  }
  const frameCount = channelData[0].length;
  for (const channel of channelData) {
    if (channel.length !== frameCount) {
      throw new RangeError(`encodeWav: channels differ in length (${frameCount} and ${channel.length} frames)`);
    }
  }

  const bytesPerSample = format === 'pcm16' ? 2 : 4;
  const blockAlign = channelCount * bytesPerSample;
  const dataByteLength = frameCount * blockAlign;
  if (dataByteLength > MAX_DATA_BYTE_LENGTH) {
    throw new RangeError(`encodeWav: ${dataByteLength} bytes of audio exceed the 4 GiB limit of a WAV file`);
  }

  const extensible = channelCount > 2;
  // PCM needs the 16-byte fmt chunk, IEEE float adds the 2-byte extension size.
  let fmtByteLength = format === 'float32' ? 18 : 16;
  if (extensible) fmtByteLength = 40;
  const factByteLength = format === 'float32' ? 12 : 0;
  const headerByteLength = 12 + 8 + fmtByteLength + factByteLength + 8;
  const bytes = new Uint8Array(headerByteLength + dataByteLength);
  const view = new DataView(bytes.buffer);
  const writeId = (offset: number, id: string): void => {
    for (let i = 0; i < 4; i++) bytes[offset + i] = id.charCodeAt(i);
  };

  writeId(0, 'RIFF');
  view.setUint32(4, bytes.length - 8, true);
  writeId(8, 'WAVE');

  writeId(12, 'fmt ');
  view.setUint32(16, fmtByteLength, true);
  const formatTag = format === 'pcm16' ? WAVE_FORMAT_PCM : WAVE_FORMAT_IEEE_FLOAT;
  view.setUint16(20, extensible ? WAVE_FORMAT_EXTENSIBLE : formatTag, true);
  view.setUint16(22, channelCount, true);
  view.setUint32(24, sampleRateHz, true);
  view.setUint32(28, sampleRateHz * blockAlign, true);
  view.setUint16(32, blockAlign, true);
  view.setUint16(34, bytesPerSample * 8, true);
  if (fmtByteLength >= 18) view.setUint16(36, fmtByteLength - 18, true);
  if (extensible) {
    view.setUint16(38, bytesPerSample * 8, true);
    view.setUint32(40, 2 ** channelCount - 1, true);
    // KSDATAFORMAT_SUBTYPE_PCM / _IEEE_FLOAT: the format tag, then a fixed GUID tail.
    view.setUint16(44, formatTag, true);
    bytes.set([0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71], 46);
  }

  let offset = 20 + fmtByteLength;
  if (format === 'float32') {
    writeId(offset, 'fact');
    view.setUint32(offset + 4, 4, true);
    view.setUint32(offset + 8, frameCount, true);
    offset += 12;
  }
  writeId(offset, 'data');
  view.setUint32(offset + 4, dataByteLength, true);
  offset += 8;

  let clippedSampleCount = 0;
  let nonFiniteSampleCount = 0;
  if (format === 'pcm16' && LITTLE_ENDIAN_HOST) {
    // The PCM headers are 44 or 68 bytes, so the samples start 2-byte aligned.
    const target = new Int16Array(bytes.buffer, offset, frameCount * channelCount);
    for (let c = 0; c < channelCount; c++) {
      const channel = channelData[c];
      for (let i = 0, j = c; i < frameCount; i++, j += channelCount) {
        let sample = channel[i];
        if (!(sample >= -1 && sample <= 1)) {
          if (Number.isFinite(sample)) clippedSampleCount++;
          else nonFiniteSampleCount++;
          sample = sanitize(sample);
        }
        target[j] = floatToPcm16(sample);
      }
    }
    return { bytes, clippedSampleCount, nonFiniteSampleCount };
  }

  for (let c = 0; c < channelCount; c++) {
    const channel = channelData[c];
    let position = offset + c * bytesPerSample;
    for (let i = 0; i < frameCount; i++, position += blockAlign) {
      let sample = channel[i];
      if (!Number.isFinite(sample)) {
        sample = sanitize(sample);
        nonFiniteSampleCount++;
      }
      if (format === 'pcm16') {
        if (sample > 1 || sample < -1) clippedSampleCount++;
        view.setInt16(position, floatToPcm16(sample), true);
      } else {
        view.setFloat32(position, sample, true);
      }
    }
  }

  return { bytes, clippedSampleCount, nonFiniteSampleCount };
}
