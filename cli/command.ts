// The contract every subcommand implements. To add one, create cli/commands/<name>.ts that
// exports a Command and add it to the list in cli/commands/index.ts.

import type { OptionSpec, ParsedArgs, PositionalSpec } from './args';

/** Exit statuses of the CLI. */
export const EXIT_OK = 0;
/** A file or value from the user cannot be used, and the message explains why. */
export const EXIT_INPUT_ERROR = 1;
/** The command line itself is wrong: unknown command or option, missing argument. */
export const EXIT_USAGE = 2;

/** Output streams of a command. Each call writes text as given, so callers end lines with \n. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

export interface Command {
  /** Name on the command line, e.g. 'info'. */
  name: string;
  /** One line for the command list in `mamba-audio --help`. */
  summary: string;
  /** Arguments after the command name in the usage line, e.g. '[options] FILE'. */
  synopsis: string;
  /** Help text paragraphs between the usage line and the options. */
  description: string;
  options: OptionSpec[];
  positionals: PositionalSpec[];
  /**
   * Runs the command and returns the exit status. AudioDecodeError and UsageError thrown
   * from here are printed by the caller with status 1 and 2.
   */
  run(args: ParsedArgs, io: CliIo): Promise<number>;
}
