// Reads the few facts about an MPEG audio stream that the wasm decoder does not return:
// where the first frame starts, its layer, whether it is mono, and whether it carries the
// Xing/Info + LAME tag that gapless decoding needs.

/** Fields of the first MPEG audio frame header. */
export interface MpegStreamInfo {
  /** Byte offset of the first frame, after any ID3v2 tag. */
  frameOffset: number;
  layer: 1 | 2 | 3;
  sampleRateHz: number;
  channelCount: 1 | 2;
  /** True when the first frame carries an Xing/Info tag with LAME's delay and padding fields. */
  hasGaplessInfo: boolean;
}

const SAMPLE_RATES_HZ: Record<number, readonly number[]> = {
  3: [44100, 48000, 32000], // MPEG-1
  2: [22050, 24000, 16000], // MPEG-2
  0: [11025, 12000, 8000], // MPEG-2.5
};

/** Length of an ID3v2 tag at offset 0 including its header and footer, or 0 when there is none. */
export function id3v2ByteLength(bytes: Uint8Array): number {
  if (bytes.length < 10 || bytes[0] !== 0x49 || bytes[1] !== 0x44 || bytes[2] !== 0x33) return 0;
  // The size is "synchsafe": four bytes of seven bits each.
  const size = ((bytes[6] & 0x7f) << 21) | ((bytes[7] & 0x7f) << 14) | ((bytes[8] & 0x7f) << 7) | (bytes[9] & 0x7f);
  const footer = (bytes[5] & 0x10) !== 0 ? 10 : 0;
  return 10 + size + footer;
}

/** Parses the 4-byte frame header at offset, or returns null when it is not a valid header. */
export function parseMpegFrameHeader(bytes: Uint8Array, offset: number): Omit<MpegStreamInfo, 'hasGaplessInfo'> | null {
  if (offset + 4 > bytes.length) return null;
  const [b0, b1, b2, b3] = [bytes[offset], bytes[offset + 1], bytes[offset + 2], bytes[offset + 3]];
  if (b0 !== 0xff || (b1 & 0xe0) !== 0xe0) return null;
  const version = (b1 >> 3) & 0x03;
  const layerBits = (b1 >> 1) & 0x03;
  const bitrateIndex = b2 >> 4;
  const sampleRateIndex = (b2 >> 2) & 0x03;
  if (version === 1 || layerBits === 0 || bitrateIndex === 0x0f || sampleRateIndex === 3) return null;
  return {
    frameOffset: offset,
    layer: (4 - layerBits) as 1 | 2 | 3,
    sampleRateHz: SAMPLE_RATES_HZ[version][sampleRateIndex],
    channelCount: b3 >> 6 === 3 ? 1 : 2,
  };
}

function containsAscii(bytes: Uint8Array, from: number, to: number, text: string): boolean {
  const end = Math.min(to, bytes.length) - text.length;
  outer: for (let i = from; i <= end; i++) {
    for (let j = 0; j < text.length; j++) {
      if (bytes[i + j] !== text.charCodeAt(j)) continue outer;
    }
    return true;
  }
  return false;
}

/** Finds the first frame after an ID3v2 tag, or returns null when none starts there. */
export function readMpegStreamInfo(bytes: Uint8Array): MpegStreamInfo | null {
  const header = parseMpegFrameHeader(bytes, id3v2ByteLength(bytes));
  if (header === null) return null;

  // The Xing/Info tag sits after the side information (up to 32 bytes) of the first frame,
  // and the LAME extension with encoder delay and padding starts 120 bytes after its id.
  // FFmpeg's MP3 muxer (libavformat/mp3enc.c) writes its own name there, "Lavf" or "Lavc".
  // NOTE: only LAME-tagged files are tested; trimming of FFmpeg-tagged files is unverified.
  const from = header.frameOffset + 4;
  const to = header.frameOffset + 200;
  const hasXing = containsAscii(bytes, from, from + 40, 'Xing') || containsAscii(bytes, from, from + 40, 'Info');
  const hasLame = ['LAME', 'Lavc', 'Lavf'].some((name) => containsAscii(bytes, from, to, name));
  return { ...header, hasGaplessInfo: hasXing && hasLame };
}
