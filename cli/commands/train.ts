// `mamba-audio train CLIPS...`: trains a new model on audio files from a seeded
// initialisation, with checkpoints in a run folder.
import { readFile } from 'node:fs/promises';

import { createNodeContext } from '../../gpu/node';
import { ConfigError, resolveConfig, type ConfigInput } from '../../gpu/model/config';
import { initParameters } from '../../gpu/model/init';
import { createLanguageModel } from '../../gpu/model/language-model';
import { UsageError, type ParsedArgs } from '../args';
import { EXIT_OK, type CliIo, type Command } from '../command';
import { checkWindowForModel, findAudioFiles, loadClips, runTraining, trainOptionsFrom, TRAINING_OPTIONS } from '../training';

export const trainCommand: Command = {
  name: 'train',
  summary: 'train a new model on audio clips',
  synopsis: '[options] CLIP...',
  description:
    'Trains a Mamba model from scratch to predict the next 8-bit mu-law sample of the clips.\n' +
    'Clips are decoded, mixed to mono and resampled to the model rate (16 kHz by default).\n' +
    'Held-out audio is scored in bits per sample before, during and after training, next to\n' +
    'the unigram entropy of its codes. The run folder gets model.safetensors (the last good\n' +
    'checkpoint, with mamba_ssm tensor names), model.optimizer.safetensors and log.jsonl.\n' +
    'Ctrl-C stops after the current step and saves a checkpoint.',
  options: [
    {
      name: 'config',
      valueName: 'FILE',
      description: 'model config JSON with fields of ModelConfig, e.g. "backbone": "sashimi" and "sashimi": {"pool": [4, 4]} (see docs/sashimi.md). The options below override it',
    },
    { name: 'd-model', valueName: 'D', description: 'model width, of the outermost level for a SaShiMi backbone (default 64)' },
    { name: 'layers', valueName: 'N', description: 'number of Mamba blocks of a flat backbone (default 8)' },
    { name: 'd-state', valueName: 'N', description: 'SSM state size per channel (default 16)' },
    { name: 'expand', valueName: 'E', description: 'inner width factor, d_inner = E * D (default 2)' },
    { name: 'non-selective', description: 'make every block non-selective (delta, B, C independent of the input): the ablation' },
    { name: 'rate', valueName: 'HZ', description: 'model sample rate in Hz (default 16000)' },
    ...TRAINING_OPTIONS,
  ],
  positionals: [{ name: 'CLIP', description: 'audio files or folders of them (WAV, FLAC, MP3, Ogg Vorbis)', variadic: true }],

  async run(args: ParsedArgs, io: CliIo): Promise<number> {
    let input: ConfigInput = {};
    const configPath = args.string('config');
    if (configPath) {
      try {
        input = JSON.parse(await readFile(configPath, 'utf8'));
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') throw new UsageError(`model config ${configPath} was not found; check the path (a JSON file, see docs/sashimi.md for an example)`);
        throw new UsageError(`cannot read model config ${configPath}: ${(error as Error).message}`);
      }
    }
    const override = (key: keyof ConfigInput, value: number | undefined) => {
      if (value !== undefined) (input as Record<string, unknown>)[key] = value;
    };
    override('dModel', args.number('d-model', { integer: true, min: 1, max: 4096 }));
    const layers = args.number('layers', { integer: true, min: 1, max: 256 });
    if (layers !== undefined && input.backbone === 'sashimi') {
      throw new UsageError('--layers sets the depth of a flat backbone; for the sashimi backbone set downBlocks, centerBlocks and upBlocks in the config file');
    }
    override('nLayers', layers);
    override('dState', args.number('d-state', { integer: true, min: 1, max: 256 }));
    override('expand', args.number('expand', { integer: true, min: 1, max: 16 }));
    override('sampleRateHz', args.number('rate', { integer: true, min: 1000, max: 384000 }));
    if (args.flag('non-selective')) {
      input.selective = false;
      if (input.backbone === 'sashimi') input.sashimi = { ...input.sashimi, selective: false };
    }
    if (input.nLayers !== undefined && Array.isArray(input.selective) && input.selective.length !== input.nLayers) input.selective = undefined;

    let config;
    try {
      config = resolveConfig(input);
    } catch (error) {
      if (error instanceof ConfigError) throw new UsageError(error.message);
      throw error;
    }
    const options = trainOptionsFrom(args);
    checkWindowForModel(config, options);
    const files = await findAudioFiles(args.positionals);
    const clips = await loadClips(files, config, io);

    const ctx = await createNodeContext();
    const model = createLanguageModel(ctx, config, initParameters(config, options.seed));
    try {
      await runTraining(ctx, model, clips, options, args, io);
    } finally {
      model.destroy();
      ctx.destroy();
    }
    return EXIT_OK;
  },
};
