// Human-readable names of formats, for the CLI and the UI.

import type { AudioContainer, AudioFormatInfo } from './types';

const CONTAINER_LABELS: Record<AudioContainer, string> = {
  wav: 'WAV',
  flac: 'FLAC',
  ogg: 'Ogg',
  mpeg: 'MPEG audio',
};

export function containerLabel(container: AudioContainer): string {
  return CONTAINER_LABELS[container];
}

/** Codec with its sample width where it has one, e.g. "16-bit signed PCM" or "FLAC, 24-bit". */
export function codecLabel(info: AudioFormatInfo): string {
  switch (info.codec) {
    case 'pcm-u8':
      return '8-bit unsigned PCM';
    case 'pcm-s16':
    case 'pcm-s24':
    case 'pcm-s32': {
      const containerBits = Number(info.codec.slice(5));
      const bits = info.bitsPerSample ?? containerBits;
      return bits === containerBits ? `${bits}-bit signed PCM` : `${bits}-bit signed PCM in ${containerBits}-bit words`;
    }
    case 'float32':
      return '32-bit IEEE float';
    case 'float64':
      return '64-bit IEEE float';
    case 'flac':
      return info.bitsPerSample === null ? 'FLAC' : `FLAC, ${info.bitsPerSample}-bit`;
    case 'vorbis':
      return 'Vorbis';
    case 'mp1':
      return 'MPEG layer I';
    case 'mp2':
      return 'MPEG layer II';
    case 'mp3':
      return 'MP3 (MPEG layer III)';
  }
}
