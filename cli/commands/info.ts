// `mamba-audio info FILE`: prints a file's format and the problems that decoding repaired.

import { codecLabel, containerLabel } from '../../audio/describe';
import { AudioDecodeError } from '../../audio/errors';
import { readAudioFile } from '../../audio/node-file';
import type { DecodedAudio } from '../../audio/types';
import type { ParsedArgs } from '../args';
import { EXIT_INPUT_ERROR, EXIT_OK, type CliIo, type Command } from '../command';

/** The --json output. Field names follow AudioFormatInfo. */
export interface InfoJson {
  file: string;
  container: string;
  codec: string;
  codecLabel: string;
  sampleRateHz: number;
  channelCount: number;
  frameCount: number;
  durationSec: number;
  bitsPerSample: number | null;
  warnings: string[];
}

function toJson(decoded: DecodedAudio): InfoJson {
  const { info } = decoded;
  return {
    file: decoded.fileName,
    container: info.container,
    codec: info.codec,
    codecLabel: codecLabel(info),
    sampleRateHz: info.sampleRateHz,
    channelCount: info.channelCount,
    frameCount: info.frameCount,
    durationSec: info.durationSec,
    bitsPerSample: info.bitsPerSample,
    warnings: decoded.warnings,
  };
}

function formatText(decoded: DecodedAudio): string {
  const { info } = decoded;
  const rows: [string, string][] = [
    ['file', decoded.fileName],
    ['container', containerLabel(info.container)],
    ['codec', codecLabel(info)],
    ['sample rate', `${info.sampleRateHz} Hz`],
    ['channels', String(info.channelCount)],
    ['frames', String(info.frameCount)],
    ['duration', `${info.durationSec.toFixed(3)} s`],
    ['warnings', decoded.warnings.length === 0 ? 'none' : String(decoded.warnings.length)],
  ];
  const lines = rows.map(([label, value]) => `${label.padEnd(12)} ${value}`);
  for (const warning of decoded.warnings) lines.push(`warning: ${warning}`);
  return `${lines.join('\n')}\n`;
}

export const infoCommand: Command = {
  name: 'info',
  summary: 'print the format, length and decoding warnings of an audio file',
  synopsis: '[options] FILE',
  description:
    'Decodes FILE (WAV, FLAC, MP3 or Ogg Vorbis) and prints its container, codec, sample rate,\n' +
    'channels, frames, duration and any problems that decoding repaired. Exits with status 1\n' +
    'and a message on stderr when the file cannot be used.',
  options: [{ name: 'json', description: 'print one JSON object instead of text (on failure: {"file", "error": {"code", "message"}})' }],
  positionals: [{ name: 'FILE', description: 'audio file to inspect' }],

  async run(args: ParsedArgs, io: CliIo): Promise<number> {
    const [path] = args.positionals;
    const json = args.flag('json');
    try {
      const decoded = await readAudioFile(path);
      io.stdout(json ? `${JSON.stringify(toJson(decoded), null, 2)}\n` : formatText(decoded));
      return EXIT_OK;
    } catch (error) {
      if (!(error instanceof AudioDecodeError) || !json) throw error;
      io.stdout(`${JSON.stringify({ file: path, error: { code: error.code, message: error.message } }, null, 2)}\n`);
      io.stderr(`mamba-audio info: ${error.message}\n`);
      return EXIT_INPUT_ERROR;
    }
  },
};
