// `mamba-audio finetune CHECKPOINT CLIPS...`: continues training a checkpoint on new clips,
// all parameters or only the last blocks and the head.
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

import { createNodeContext } from '../../gpu/node';
import { createLanguageModel } from '../../gpu/model/language-model';
import { UsageError, type ParsedArgs } from '../args';
import { EXIT_OK, type CliIo, type Command } from '../command';
import { checkWindowForModel, findAudioFiles, loadClips, readCheckpointFile, runTraining, trainOptionsFrom, TRAINING_OPTIONS } from '../training';

export const finetuneCommand: Command = {
  name: 'finetune',
  summary: 'fine-tune a checkpoint on new audio clips',
  synopsis: '[options] CHECKPOINT CLIP...',
  description:
    'Loads a checkpoint (ours, or a mamba_ssm MambaLMHeadModel state dict as safetensors) and\n' +
    'trains it further on the clips. --last-layers N updates only the last N blocks, the\n' +
    'final norm and the head. --resume also restores the optimizer state saved beside the\n' +
    'checkpoint, for an exact continuation of the same run.',
  options: [
    { name: 'last-layers', valueName: 'N', description: 'train only the last N blocks plus the final norm and head (default: all parameters)' },
    { name: 'resume', description: 'continue the schedule and AdamW state from CHECKPOINT\'s model.optimizer.safetensors' },
    ...TRAINING_OPTIONS,
  ],
  positionals: [
    { name: 'CHECKPOINT', description: 'model .safetensors file to start from' },
    { name: 'CLIP', description: 'audio files or folders of them', variadic: true },
  ],

  async run(args: ParsedArgs, io: CliIo): Promise<number> {
    const [checkpointPath, ...clipPaths] = args.positionals;
    if (clipPaths.length === 0) throw new UsageError('missing CLIP: name at least one audio file or folder');
    const checkpoint = await readCheckpointFile(checkpointPath);
    const options = trainOptionsFrom(args);
    checkWindowForModel(checkpoint.config, options);
    const lastLayers = args.number('last-layers', { integer: true, min: 0, max: checkpoint.config.nLayers });
    if (lastLayers !== undefined) options.trainable = { lastLayers };

    let optimizerBytes: Uint8Array | undefined;
    if (args.flag('resume')) {
      const path = join(dirname(checkpointPath), 'model.optimizer.safetensors');
      try {
        optimizerBytes = await readFile(path);
      } catch {
        throw new UsageError(`--resume needs the optimizer state ${path}, which cannot be read`);
      }
    }

    const clips = await loadClips(await findAudioFiles(clipPaths), checkpoint.config, io);
    const ctx = await createNodeContext();
    const model = createLanguageModel(ctx, checkpoint.config, checkpoint.params);
    try {
      await runTraining(ctx, model, clips, options, args, io, optimizerBytes);
    } finally {
      model.destroy();
      ctx.destroy();
    }
    return EXIT_OK;
  },
};
