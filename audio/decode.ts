// Entry point for decoding a file of any supported format to float32 channels.

import { decodeFlac, decodeMpeg, decodeOggVorbis } from './compressed-decode';
import { AudioDecodeError, CONVERT_HINT } from './errors';
import { id3v2ByteLength } from './mpeg-header';
import { sniffFormat } from './sniff';
import type { DecodedAudio } from './types';
import { decodeWav } from './wav-decode';

/** Formats decodeAudio reads, for messages and docs. */
export const SUPPORTED_FORMATS_TEXT = 'WAV (PCM or float), FLAC, MP3 and Ogg Vorbis';

/**
 * Decodes a whole file to float32 channels. The format comes from the bytes, not from the
 * file name. Throws AudioDecodeError, naming fileName, for files without usable audio.
 * Problems that decoding survived are listed in `warnings`.
 */
export async function decodeAudio(bytes: Uint8Array, fileName: string): Promise<DecodedAudio> {
  if (bytes.length === 0) {
    throw new AudioDecodeError('empty', fileName, 'the file is empty (0 bytes)', 'Open a file that contains a recording');
  }

  const format = sniffFormat(bytes);
  switch (format.kind) {
    case 'wav':
      return decodeWav(bytes, fileName);
    case 'flac':
      return decodeFlac(bytes, fileName, 'flac', id3v2ByteLength(bytes));
    case 'ogg-flac':
      return decodeFlac(bytes, fileName, 'ogg');
    case 'ogg-vorbis':
      return decodeOggVorbis(bytes, fileName);
    case 'mpeg':
      return decodeMpeg(bytes, fileName);
    case 'unsupported-audio':
      throw new AudioDecodeError(
        'unsupported-codec',
        fileName,
        `the file's format, ${format.name}, is not supported; only ${SUPPORTED_FORMATS_TEXT} are read`,
        CONVERT_HINT,
      );
    case 'not-audio':
      throw new AudioDecodeError(
        'not-audio',
        fileName,
        format.name === null
          ? `the file is not audio in a supported format (${SUPPORTED_FORMATS_TEXT})`
          : `the file is not audio but ${format.name}`,
        `Open a ${SUPPORTED_FORMATS_TEXT.replace(' and ', ' or ')} file`,
      );
  }
}
