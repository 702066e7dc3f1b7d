// Every subcommand of `mamba-audio`, in the order `--help` lists them. To add a command,
// write cli/commands/<name>.ts exporting a Command (see cli/command.ts) and add it here.

import type { Command } from '../command';
import { benchCommand } from './bench';
import { benchAudioCommand } from './bench-audio';
import { convertCommand } from './convert';
import { finetuneCommand } from './finetune';
import { generateCommand } from './generate';
import { infoCommand } from './info';
import { inspectCommand } from './inspect';
import { labCommand } from './lab';
import { trainCommand } from './train';

export const COMMANDS: readonly Command[] = [infoCommand, convertCommand, trainCommand, finetuneCommand, generateCommand, inspectCommand, benchCommand, benchAudioCommand, labCommand];
