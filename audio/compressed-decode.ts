// Adapters for the WebAssembly decoders from npm: @wasm-audio-decoders/flac (libFLAC),
// mpg123-decoder (libmpg123) and @wasm-audio-decoders/ogg-vorbis (libvorbis). Each is
// imported on first use, so decoding WAV never loads a wasm module. Their READMEs list
// browser and Node support; the tests here run them in Node only.
//
// NOTE: these libraries print their own decode errors with console.error before returning
// them, and we return them as warnings too.

import { AudioDecodeError } from './errors';
import { readMpegStreamInfo } from './mpeg-header';
import type { AudioCodec, AudioContainer, DecodedAudio } from './types';

const LAYER_CODECS: Record<1 | 2 | 3, AudioCodec> = { 1: 'mp1', 2: 'mp2', 3: 'mp3' };

interface LibraryResult {
  channelData: Float32Array[];
  samplesDecoded: number;
  sampleRate: number;
  errors: { message: string }[];
}

function corruptError(fileName: string, codecName: string, cause: unknown): AudioDecodeError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new AudioDecodeError(
    'corrupt',
    fileName,
    `the ${codecName} decoder failed on this file (${detail})`,
    'The file is damaged or not really ' + codecName + '; export it again from the original',
  );
}

/** Turns a library result into DecodedAudio, or throws when it contains no audio. */
function toDecodedAudio(
  result: LibraryResult,
  fileName: string,
  container: AudioContainer,
  codec: AudioCodec,
  codecName: string,
  bitsPerSample: number | null,
  warnings: string[],
): DecodedAudio {
  for (const error of result.errors.slice(0, 5)) warnings.push(`The ${codecName} decoder reported: ${error.message}`);
  if (result.errors.length > 5) warnings.push(`The ${codecName} decoder reported ${result.errors.length - 5} more errors.`);

  const frameCount = result.samplesDecoded;
  if (!(frameCount > 0) || result.channelData.length === 0 || !(result.sampleRate > 0)) {
    throw new AudioDecodeError(
      result.errors.length > 0 ? 'corrupt' : 'empty',
      fileName,
      `the ${codecName} decoder found no audio in this file` +
        (result.errors.length > 0 ? ` (${result.errors[0].message})` : ''),
      'The file is empty, damaged or cut off; export it again from the original',
    );
  }
  const channelData = result.channelData.map((channel) => channel.subarray(0, frameCount));
  return {
    fileName,
    info: {
      container,
      codec,
      sampleRateHz: result.sampleRate,
      channelCount: channelData.length,
      frameCount,
      durationSec: frameCount / result.sampleRate,
      bitsPerSample,
    },
    channelData,
    warnings,
  };
}

/** STREAMINFO fields of a native FLAC file, or null when the first block is not STREAMINFO. */
function readFlacStreamInfo(bytes: Uint8Array, offset: number): { bitsPerSample: number; totalFrames: number } | null {
  // "fLaC", then a 4-byte block header whose type (low 7 bits of the first byte) is 0.
  const info = offset + 8;
  if (info + 18 > bytes.length || (bytes[offset + 4] & 0x7f) !== 0) return null;
  const bitsPerSample = (((bytes[info + 12] & 0x01) << 4) | (bytes[info + 13] >> 4)) + 1;
  const totalFrames =
    (bytes[info + 13] & 0x0f) * 2 ** 32 +
    ((bytes[info + 14] << 24) >>> 0) +
    (bytes[info + 15] << 16) +
    (bytes[info + 16] << 8) +
    bytes[info + 17];
  return { bitsPerSample, totalFrames };
}

/** Decodes native FLAC (flacOffset is where "fLaC" starts, after any ID3v2 tag) or Ogg FLAC. */
export async function decodeFlac(bytes: Uint8Array, fileName: string, container: 'flac' | 'ogg', flacOffset = 0): Promise<DecodedAudio> {
  const { FLACDecoder } = await import('@wasm-audio-decoders/flac');
  const decoder = new FLACDecoder();
  let result;
  try {
    await decoder.ready;
    result = await decoder.decodeFile(bytes.subarray(flacOffset));
  } catch (error) {
    throw corruptError(fileName, 'FLAC', error);
  } finally {
    decoder.free();
  }

  const warnings: string[] = [];
  const decoded = toDecodedAudio(result, fileName, container, 'flac', 'FLAC', result.bitDepth || null, warnings);

  // The library scales integers by 1 / (2^(bits-1) - 1). Rescaling to 1 / 2^(bits-1), as
  // sox does, makes FLAC decode to the same values as the WAV it came from.
  if (result.bitDepth > 1 && result.bitDepth <= 32) {
    const fullScale = 2 ** (result.bitDepth - 1);
    const correction = (fullScale - 1) / fullScale;
    for (const channel of decoded.channelData) {
      for (let i = 0; i < channel.length; i++) channel[i] *= correction;
    }
  }

  const streamInfo = container === 'flac' ? readFlacStreamInfo(bytes, flacOffset) : null;
  if (streamInfo !== null && streamInfo.totalFrames > decoded.info.frameCount) {
    warnings.push(
      `The FLAC header declares ${streamInfo.totalFrames} frames, but only ${decoded.info.frameCount} decoded. The file is probably cut off.`,
    );
  }
  return decoded;
}

/** Decodes an Ogg Vorbis file. */
export async function decodeOggVorbis(bytes: Uint8Array, fileName: string): Promise<DecodedAudio> {
  const { OggVorbisDecoder } = await import('@wasm-audio-decoders/ogg-vorbis');
  const decoder = new OggVorbisDecoder();
  let result;
  try {
    await decoder.ready;
    result = await decoder.decodeFile(bytes);
  } catch (error) {
    throw corruptError(fileName, 'Vorbis', error);
  } finally {
    decoder.free();
  }
  const warnings: string[] = [];
  if (!endsWithEndOfStreamPage(bytes)) {
    warnings.push('The Ogg stream has no end-of-stream page, so the file is probably cut off.');
  }
  return toDecodedAudio(result, fileName, 'ogg', 'vorbis', 'Vorbis', null, warnings);
}

/** True when the last Ogg page in the file has the end-of-stream flag (header type bit 2). */
function endsWithEndOfStreamPage(bytes: Uint8Array): boolean {
  // Pages are at most 65307 bytes, so the last page starts within that distance of the end.
  const from = Math.max(0, bytes.length - 65307 - 27);
  for (let i = bytes.length - 27; i >= from; i--) {
    if (bytes[i] === 0x4f && bytes[i + 1] === 0x67 && bytes[i + 2] === 0x67 && bytes[i + 3] === 0x53 && bytes[i + 4] === 0) {
      return (bytes[i + 5] & 0x04) !== 0;
    }
  }
  return false;
}

/**
 * Decodes MPEG audio layer I, II or III. mpg123 removes encoder delay and padding when the
 * first frame carries a LAME/Xing tag ("gapless"). Without one the output keeps them, which
 * we report as a warning. mpg123-decoder always returns two channels, so for mono streams
 * we keep the first.
 */
export async function decodeMpeg(bytes: Uint8Array, fileName: string): Promise<DecodedAudio> {
  const stream = readMpegStreamInfo(bytes);
  if (stream === null) {
    throw new AudioDecodeError('not-audio', fileName, 'no MPEG audio frame starts after the ID3 tag', 'Open a WAV, FLAC, MP3 or Ogg Vorbis file');
  }
  const codec = LAYER_CODECS[stream.layer];
  const codecName = codec.toUpperCase();

  const { MPEGDecoder } = await import('mpg123-decoder');
  const decoder = new MPEGDecoder({ enableGapless: true });
  let result;
  try {
    await decoder.ready;
    result = decoder.decode(bytes);
  } catch (error) {
    throw corruptError(fileName, codecName, error);
  } finally {
    decoder.free();
  }

  const warnings: string[] = [];
  if (!stream.hasGaplessInfo && stream.layer === 3) {
    warnings.push(
      'The MP3 has no LAME/Xing header with encoder delay and padding, so they stay in the audio: ' +
        'extra silence at the start (1105 samples for LAME at default settings) and up to one frame at the end.',
    );
  }
  const channelData = stream.channelCount === 1 ? result.channelData.slice(0, 1) : result.channelData;
  return toDecodedAudio({ ...result, channelData }, fileName, 'mpeg', codec, codecName, null, warnings);
}
