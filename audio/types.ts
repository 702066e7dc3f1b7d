// Shapes shared by the decoders and the conversion steps.

/** File format that wraps the audio data. `mpeg` is a bare MPEG audio stream (.mp3). */
export type AudioContainer = 'wav' | 'flac' | 'ogg' | 'mpeg';

/**
 * Codec of the stored samples: PCM with its integer width, IEEE float, or a compressed codec.
 * `pcm-u8` is unsigned 8-bit, the other PCM widths are signed.
 */
export type AudioCodec =
  | 'pcm-u8'
  | 'pcm-s16'
  | 'pcm-s24'
  | 'pcm-s32'
  | 'float32'
  | 'float64'
  | 'flac'
  | 'vorbis'
  | 'mp1'
  | 'mp2'
  | 'mp3';

/** Format of a decoded file as it was stored, before any conversion. */
export interface AudioFormatInfo {
  container: AudioContainer;
  codec: AudioCodec;
  sampleRateHz: number;
  channelCount: number;
  frameCount: number;
  /** frameCount / sampleRateHz. */
  durationSec: number;
  /** Bits per stored sample for PCM, float and FLAC, or null for lossy codecs. */
  bitsPerSample: number | null;
}

/** A whole decoded file. */
export interface DecodedAudio {
  /** Name used in messages, as the caller passed it. */
  fileName: string;
  info: AudioFormatInfo;
  /**
   * One array per channel, each `info.frameCount` long. Integer PCM is scaled by
   * 1 / 2^(bits - 1), as sox does, so values lie in [-1, 1). Float files keep their values,
   * which may exceed 1.
   */
  channelData: Float32Array[];
  /** Problems that did not stop decoding, as sentences for the user. */
  warnings: string[];
}
