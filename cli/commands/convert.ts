// `mamba-audio convert IN OUT`: writes the mono, resampled, normalised clip that the model
// trains on as a WAV file.

import { readAudioFile, writeFileAtomically } from '../../audio/node-file';
import { decodeCodes } from '../../audio/mulaw';
import { DEFAULT_MIN_DURATION_SEC, DEFAULT_MODEL_RATE_HZ, prepareCodes, prepareSamples } from '../../audio/prepare';
import { encodeWav } from '../../audio/wav-encode';
import { UsageError, type ParsedArgs } from '../args';
import { EXIT_OK, type CliIo, type Command } from '../command';
import { requireOutputFolder } from '../output-folder';

export const convertCommand: Command = {
  name: 'convert',
  summary: 'write the model-ready mono WAV of an audio file',
  synopsis: '[options] IN OUT',
  description:
    'Decodes IN, mixes it to mono, resamples it to the model rate, scales its peak to full\n' +
    'scale and writes the result to OUT as a WAV file. This is the signal the model trains\n' +
    'on before 8-bit quantisation; --quantize writes the quantised signal instead.\n' +
    'Exits with status 1 and a message on stderr when IN cannot be used.',
  options: [
    { name: 'rate', short: 'r', valueName: 'HZ', description: `output sample rate in Hz (default ${DEFAULT_MODEL_RATE_HZ})` },
    { name: 'channel', valueName: 'N', description: "channel to keep, counting from 0, or 'mix' to average all (default mix)" },
    { name: 'no-normalize', description: 'keep the recorded level instead of scaling the peak to --peak' },
    { name: 'peak', valueName: 'X', description: 'largest absolute sample after normalisation, in (0, 1] (default 1)' },
    { name: 'format', valueName: 'FORMAT', description: "sample format of OUT: 'pcm16' (16-bit PCM) or 'float32' (default pcm16)" },
    { name: 'quantize', valueName: 'KIND', description: "write the signal after 8-bit 'mu-law' or 'linear' quantisation and decoding" },
    {
      name: 'min-duration',
      valueName: 'SEC',
      description: `reject clips shorter than this many seconds (default ${DEFAULT_MIN_DURATION_SEC}, the training minimum)`,
    },
  ],
  positionals: [
    { name: 'IN', description: 'audio file to convert (WAV, FLAC, MP3 or Ogg Vorbis)' },
    { name: 'OUT', description: 'WAV file to write, replacing any existing file' },
  ],

  async run(args: ParsedArgs, io: CliIo): Promise<number> {
    const [inputPath, outputPath] = args.positionals;
    requireOutputFolder(outputPath, `OUT ${outputPath}`);
    const sampleRateHz = args.number('rate', { integer: true, min: 1000, max: 384000 }) ?? DEFAULT_MODEL_RATE_HZ;
    const targetPeak = args.number('peak', { min: 1e-6, max: 1 });
    const minDurationSec = args.number('min-duration', { min: 0 });
    const format = args.choice('format', ['pcm16', 'float32'] as const) ?? 'pcm16';
    const quantization = args.choice('quantize', ['mu-law', 'linear'] as const);
    const channelText = args.string('channel') ?? 'mix';
    if (channelText !== 'mix' && !/^\d+$/.test(channelText)) {
      throw new UsageError(`--channel must be 'mix' or a channel number from 0, got '${channelText}'`);
    }
    if (args.flag('no-normalize') && targetPeak !== undefined) {
      throw new UsageError('--peak has no effect with --no-normalize, so give only one of them');
    }

    const decoded = await readAudioFile(inputPath);
    const channel: 'mix' | number = channelText === 'mix' ? 'mix' : Number(channelText);
    if (channel !== 'mix' && channel >= decoded.info.channelCount) {
      throw new UsageError(`--channel ${channel} does not exist: ${inputPath} has ${decoded.info.channelCount} channels, numbered from 0`);
    }

    const options = {
      sampleRateHz,
      channel,
      normalization: args.flag('no-normalize') ? ('none' as const) : ('peak' as const),
      targetPeak,
      minDurationSec,
    };
    let samples: Float32Array;
    let warnings: string[];
    let gain: number;
    if (quantization === undefined) {
      ({ samples, warnings, gain } = prepareSamples(decoded, options));
    } else {
      const clip = prepareCodes(decoded, { ...options, quantization });
      ({ warnings, gain } = clip);
      samples = decodeCodes(clip.codes, quantization);
    }

    const encoded = encodeWav([samples], sampleRateHz, format);
    await writeFileAtomically(outputPath, encoded.bytes);

    if (encoded.clippedSampleCount > 0) warnings.push(`Clipped ${encoded.clippedSampleCount} samples beyond full scale in the 16-bit output.`);
    for (const warning of warnings) io.stderr(`warning: ${warning}\n`);
    const gainText = gain === 1 ? 'level unchanged' : `gain ${(20 * Math.log10(gain)).toFixed(1)} dB`;
    io.stdout(
      `Wrote ${outputPath}: ${samples.length} frames (${(samples.length / sampleRateHz).toFixed(3)} s) of mono ` +
        `${format === 'pcm16' ? '16-bit PCM' : '32-bit float'} at ${sampleRateHz} Hz, ${gainText}` +
        `${quantization === undefined ? '' : `, ${quantization} quantised`}.\n`,
    );
    return EXIT_OK;
  },
};
