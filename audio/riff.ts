// Walks the chunks of a RIFF/WAVE file. It tolerates what real recorders and editors
// write: placeholder sizes from streaming writers, a data chunk cut short, unknown chunks
// before and after the data, and a missing pad byte after an odd-sized chunk.

import { AudioDecodeError } from './errors';

/** A chunk's payload location. `byteLength` is what the file contains, not what the header claims. */
export interface RiffChunk {
  id: string;
  payloadOffset: number;
  byteLength: number;
}

/** The chunks a WAV decoder needs, plus warnings about sizes that were repaired. */
export interface WaveChunks {
  /** 'RIFF', or 'RF64'/'BW64' for files over 4 GiB that keep 64-bit sizes in a ds64 chunk. */
  riffId: string;
  fmt: RiffChunk | null;
  data: RiffChunk | null;
  /** Declared size of the data chunk when the file ends before it, else null. */
  dataDeclaredByteLength: number | null;
  warnings: string[];
}

const PLACEHOLDER_SIZE = 0xffffffff;

/** Reads four bytes as ASCII, e.g. a chunk id. */
export function readFourCC(bytes: Uint8Array, offset: number): string {
  return String.fromCharCode(bytes[offset], bytes[offset + 1], bytes[offset + 2], bytes[offset + 3]);
}

function readUint32(bytes: Uint8Array, offset: number): number {
  return (bytes[offset] | (bytes[offset + 1] << 8) | (bytes[offset + 2] << 16)) + bytes[offset + 3] * 0x1000000;
}

/** Chunk ids are four printable ASCII characters, so anything else means the walker lost sync. */
function isChunkId(bytes: Uint8Array, offset: number): boolean {
  if (offset + 4 > bytes.length) return false;
  for (let i = 0; i < 4; i++) {
    const c = bytes[offset + i];
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

/** True when a plausible chunk header (id and a size that fits the file) starts at offset. */
function looksLikeChunkHeader(bytes: Uint8Array, offset: number): boolean {
  if (offset + 8 > bytes.length || !isChunkId(bytes, offset)) return false;
  return offset + 8 + readUint32(bytes, offset + 4) <= bytes.length;
}

/**
 * Finds the fmt and data chunks of a WAVE file whose 12-byte RIFF header has been checked.
 * Throws AudioDecodeError when a chunk before the data is cut off or the chunk list is garbage.
 */
export function findWaveChunks(bytes: Uint8Array, fileName: string): WaveChunks {
  const riffId = readFourCC(bytes, 0);
  const warnings: string[] = [];
  let fmt: RiffChunk | null = null;
  let data: RiffChunk | null = null;
  let dataDeclaredByteLength: number | null = null;
  let ds64DataByteLength: number | null = null;

  // The RIFF size field is ignored: streaming writers leave it 0 or 0xFFFFFFFF, and
  // editors often get it wrong. The file length is the only size that can be trusted.
  let offset = 12;
  while (offset + 8 <= bytes.length) {
    if (!isChunkId(bytes, offset)) {
      if (data !== null) {
        warnings.push(`Ignored ${bytes.length - offset} bytes after the last chunk at byte ${offset}, which are not a chunk.`);
        break;
      }
      throw new AudioDecodeError(
        'invalid-header',
        fileName,
        `the WAV chunk list is damaged at byte ${offset} (no valid chunk id there)`,
        'The file was probably cut or edited by a faulty program; export it again from the original',
      );
    }

    const id = readFourCC(bytes, offset);
    let declaredSize = readUint32(bytes, offset + 4);
    const payloadOffset = offset + 8;
    const available = bytes.length - payloadOffset;

    if (id === 'ds64' && declaredSize >= 16 && available >= 16) {
      // RF64: 64-bit RIFF size, then 64-bit data size. JavaScript numbers represent them exactly
      // up to 2^53 bytes.
      ds64DataByteLength = readUint32(bytes, payloadOffset + 8) + readUint32(bytes, payloadOffset + 12) * 0x100000000;
    }

    if (id === 'data') {
      if (declaredSize === PLACEHOLDER_SIZE && ds64DataByteLength !== null) declaredSize = ds64DataByteLength;

      const placeholder =
        declaredSize === PLACEHOLDER_SIZE ||
        (declaredSize === 0 && available > 0 && !looksLikeChunkHeader(bytes, payloadOffset));
      if (placeholder) {
        // A recorder that streams to a pipe cannot go back to fill in the size.
        warnings.push(
          `The data chunk size is the placeholder ${declaredSize === 0 ? '0' : '0xFFFFFFFF'} that streaming recorders write, so the audio was read to the end of the file.`,
        );
        data = { id, payloadOffset, byteLength: available };
        break;
      }
      if (declaredSize > available) {
        dataDeclaredByteLength = declaredSize;
        data = { id, payloadOffset, byteLength: available };
        break;
      }
      data = { id, payloadOffset, byteLength: declaredSize };
    } else if (declaredSize > available) {
      if (data !== null) {
        warnings.push(`Ignored the '${id.trimEnd()}' chunk after the audio data because the file ends inside it.`);
        break;
      }
      throw new AudioDecodeError(
        'truncated',
        fileName,
        `the file ends inside its '${id.trimEnd()}' chunk, before any audio data`,
        'The file is incomplete; copy or export it again',
      );
    } else if (id === 'fmt ') {
      fmt = { id, payloadOffset, byteLength: declaredSize };
    }

    // Chunks are padded to an even length, but some writers omit the pad byte after an
    // odd-sized chunk. Follow whichever position contains the next chunk header.
    let next = payloadOffset + declaredSize;
    if (declaredSize % 2 === 1 && !(looksLikeChunkHeader(bytes, next) && !looksLikeChunkHeader(bytes, next + 1))) {
      next += 1;
    }
    offset = next;
  }

  return { riffId, fmt, data, dataDeclaredByteLength, warnings };
}
