// Identifies a file's format from its first bytes, so that a file named .wav that is
// really an MP3 still decodes, and so that files we cannot read get a precise reason.

import { isWaveHeader } from './wav-decode';
import { id3v2ByteLength, parseMpegFrameHeader } from './mpeg-header';

/** File type identified from the first bytes of a file. */
export type SniffedFormat =
  | { kind: 'wav' }
  | { kind: 'flac' }
  | { kind: 'ogg-vorbis' }
  | { kind: 'ogg-flac' }
  | { kind: 'mpeg' }
  /** A known audio format that we do not decode, e.g. "Ogg Opus" or "AIFF". */
  | { kind: 'unsupported-audio'; name: string }
  /** Not audio. `name` is the detected file type with its article when known, e.g. "a PNG image". */
  | { kind: 'not-audio'; name: string | null };

function startsWith(bytes: Uint8Array, offset: number, signature: string | readonly number[]): boolean {
  const codes = typeof signature === 'string' ? Array.from(signature, (c) => c.charCodeAt(0)) : signature;
  if (offset + codes.length > bytes.length) return false;
  return codes.every((code, i) => bytes[offset + i] === code);
}

/** Identifies the codec in an Ogg stream from the first packet of its first page. */
function sniffOgg(bytes: Uint8Array): SniffedFormat {
  if (bytes.length < 28) return { kind: 'unsupported-audio', name: 'Ogg (too short to tell the codec)' };
  const segmentCount = bytes[26];
  const packetOffset = 27 + segmentCount;
  if (startsWith(bytes, packetOffset, '\x01vorbis')) return { kind: 'ogg-vorbis' };
  if (startsWith(bytes, packetOffset, '\x7fFLAC')) return { kind: 'ogg-flac' };
  if (startsWith(bytes, packetOffset, 'OpusHead')) return { kind: 'unsupported-audio', name: 'Ogg Opus' };
  if (startsWith(bytes, packetOffset, 'Speex   ')) return { kind: 'unsupported-audio', name: 'Ogg Speex' };
  if (startsWith(bytes, packetOffset, '\x80theora')) return { kind: 'not-audio', name: 'an Ogg Theora video' };
  return { kind: 'unsupported-audio', name: 'Ogg with an unknown codec' };
}

const OTHER_AUDIO: ReadonlyArray<[offset: number, signature: string | readonly number[], name: string]> = [
  [0, 'caff', 'Core Audio Format (CAF)'],
  [0, '.snd', 'Sun/NeXT audio (.au)'],
  [0, 'MAC ', "Monkey's Audio (APE)"],
  [0, 'wvpk', 'WavPack'],
  [0, [0x30, 0x26, 0xb2, 0x75], 'Windows Media (ASF/WMA)'],
  [0, [0x1a, 0x45, 0xdf, 0xa3], 'Matroska/WebM'],
  [0, [0xff, 0xf1], 'AAC (ADTS)'],
  [0, [0xff, 0xf9], 'AAC (ADTS)'],
];

const NOT_AUDIO: ReadonlyArray<[offset: number, signature: string | readonly number[], name: string]> = [
  [0, 'MThd', 'a MIDI file, which contains notes rather than recorded sound'],
  [0, [0x89, 0x50, 0x4e, 0x47], 'a PNG image'],
  [0, [0xff, 0xd8, 0xff], 'a JPEG image'],
  [0, 'GIF8', 'a GIF image'],
  [0, '%PDF', 'a PDF document'],
  [0, [0x50, 0x4b, 0x03, 0x04], 'a ZIP archive'],
  [0, [0x1f, 0x8b], 'a gzip archive'],
  [0, [0x7f, 0x45, 0x4c, 0x46], 'an ELF executable'],
];

/** True when the first bytes decode as printable UTF-8/ASCII text. */
function looksLikeText(bytes: Uint8Array): boolean {
  const sample = bytes.subarray(0, 512);
  if (sample.length === 0) return false;
  for (const byte of sample) {
    if (byte < 0x09 || (byte > 0x0d && byte < 0x20)) return false;
  }
  return true;
}

/** Identifies the format of a file from its bytes. */
export function sniffFormat(bytes: Uint8Array): SniffedFormat {
  if (isWaveHeader(bytes)) return { kind: 'wav' };
  if (startsWith(bytes, 0, 'RIFF')) return { kind: 'not-audio', name: `a RIFF file of type '${String.fromCharCode(...bytes.subarray(8, 12))}'` };
  if (startsWith(bytes, 0, 'fLaC')) return { kind: 'flac' };
  if (startsWith(bytes, 0, 'OggS')) return sniffOgg(bytes);
  if (startsWith(bytes, 0, 'FORM') && (startsWith(bytes, 8, 'AIFF') || startsWith(bytes, 8, 'AIFC'))) {
    return { kind: 'unsupported-audio', name: 'AIFF' };
  }
  if (startsWith(bytes, 4, 'ftyp')) return { kind: 'unsupported-audio', name: 'MPEG-4 (M4A/AAC/ALAC)' };

  // An ID3v2 tag may precede MPEG audio and, rarely, FLAC.
  const tagByteLength = id3v2ByteLength(bytes);
  if (tagByteLength > 0 && startsWith(bytes, tagByteLength, 'fLaC')) return { kind: 'flac' };
  const mpegHeader = parseMpegFrameHeader(bytes, tagByteLength);
  if (mpegHeader !== null) return { kind: 'mpeg' };

  for (const [offset, signature, name] of OTHER_AUDIO) {
    if (startsWith(bytes, offset, signature)) return { kind: 'unsupported-audio', name };
  }
  if (tagByteLength > 0) return { kind: 'not-audio', name: 'an ID3 tag with no MPEG audio frame after it' };
  for (const [offset, signature, name] of NOT_AUDIO) {
    if (startsWith(bytes, offset, signature)) return { kind: 'not-audio', name };
  }
  return { kind: 'not-audio', name: looksLikeText(bytes) ? 'a text file' : null };
}
