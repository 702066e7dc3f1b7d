// Entry point of the `mamba-audio` command: finds the subcommand, parses its arguments,
// runs it, and turns errors into messages and exit statuses.

import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { AudioDecodeError } from '../audio/errors';
import { CheckpointError } from '../gpu/model/checkpoint';
import { ConfigError } from '../gpu/model/config';
import { SafetensorsError } from '../gpu/model/safetensors';
import { DataError } from '../gpu/train/data';
import { formatOptions, parseArgs, UsageError } from './args';
import { EXIT_INPUT_ERROR, EXIT_OK, EXIT_USAGE, type CliIo, type Command } from './command';
import { COMMANDS } from './commands/index';

const PROGRAM = 'mamba-audio';

const processIo: CliIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
};

function packageVersion(): string {
  const packageJson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return packageJson.version;
}

function globalHelp(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length));
  const commandLines = COMMANDS.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`).join('\n');
  return (
    `Usage: ${PROGRAM} COMMAND [options] [arguments]\n\n` +
    'Model and generate raw audio with Mamba state space models, from the command line.\n\n' +
    `Commands:\n${commandLines}\n\n` +
    `Options:\n  -h, --help     print this help, or a command's help after its name\n      --version  print the version\n\n` +
    `Run '${PROGRAM} COMMAND --help' for the options of one command.\n`
  );
}

function commandHelp(command: Command): string {
  const width = Math.max(0, ...command.positionals.map((p) => p.name.length));
  const positionals = command.positionals.map((p) => `  ${p.name.padEnd(width)}  ${p.description}`).join('\n');
  return (
    `Usage: ${PROGRAM} ${command.name} ${command.synopsis}\n\n` +
    `${command.description}\n\n` +
    (positionals === '' ? '' : `Arguments:\n${positionals}\n\n`) +
    `Options:\n${formatOptions(command.options)}\n`
  );
}

/** Runs the CLI with argv (without node and the script path) and returns the exit status. */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    io.stderr(globalHelp());
    return EXIT_USAGE;
  }
  if (first === '-h' || first === '--help') {
    io.stdout(globalHelp());
    return EXIT_OK;
  }
  if (first === '--version') {
    io.stdout(`${packageVersion()}\n`);
    return EXIT_OK;
  }

  const commandName = first === 'help' ? rest[0] : first;
  const command = COMMANDS.find((candidate) => candidate.name === commandName);
  if (first === 'help' && commandName === undefined) {
    io.stdout(globalHelp());
    return EXIT_OK;
  }
  if (command === undefined) {
    const known = COMMANDS.map((candidate) => candidate.name).join(', ');
    io.stderr(`${PROGRAM}: unknown command '${commandName}'. Commands: ${known}. Run '${PROGRAM} --help' for usage.\n`);
    return EXIT_USAGE;
  }
  if (first === 'help') {
    io.stdout(commandHelp(command));
    return EXIT_OK;
  }

  const prefix = `${PROGRAM} ${command.name}`;
  try {
    const args = parseArgs(rest, command.options, command.positionals);
    if (args.help) {
      io.stdout(commandHelp(command));
      return EXIT_OK;
    }
    return await command.run(args, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`${prefix}: ${error.message}\nRun '${prefix} --help' for usage.\n`);
      return EXIT_USAGE;
    }
    // Unreadable checkpoints, configs and data are problems with the input, and their
    // messages name the file or value.
    if (error instanceof AudioDecodeError || error instanceof CheckpointError || error instanceof SafetensorsError || error instanceof ConfigError || error instanceof DataError) {
      // The safetensors parser reports the bytes it read; the hint names the file the command expects.
      const hint = error instanceof SafetensorsError ? '. Give a checkpoint that train or finetune wrote (model.safetensors in the run folder), or one converted from mamba_ssm' : '';
      io.stderr(`${prefix}: ${error.message}${hint}\n`);
      return EXIT_INPUT_ERROR;
    }
    // Anything else is a bug in this program, not a problem with the user's input.
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    io.stderr(`${prefix}: internal error, please report it with the command you ran:\n${detail}\n`);
    return EXIT_INPUT_ERROR;
  }
}

/** True when this module is the script Node was started with (`node cli/main.ts`). */
function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return pathToFileURL(realpathSync(script)).href === pathToFileURL(realpathSync(fileURLToPath(import.meta.url))).href;
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  process.exitCode = await main(process.argv.slice(2));
}
