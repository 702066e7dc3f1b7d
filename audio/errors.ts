// Errors that a user can cause by opening a file. The UI and the CLI show `message`; code
// that reacts to a cause switches on `code`.

/**
 * Cause of an AudioDecodeError:
 * - `unreadable`: the file could not be read (not found, a directory, no permission).
 * - `empty`: the file or its audio data contains no samples.
 * - `not-audio`: the bytes match no supported container.
 * - `unsupported-format`: a known container in a variant this code does not read (RIFX, AIFF).
 * - `unsupported-codec`: a supported container with a codec we do not decode (IMA ADPCM, Opus).
 * - `invalid-header`: the header contradicts itself or has impossible values.
 * - `truncated`: the file ends before one whole frame of audio.
 * - `corrupt`: the codec library failed on the data.
 * - `too-short`: the clip decodes but is shorter than the minimum duration for training.
 * - `silent`: every sample is zero, so there is nothing to normalise or learn from.
 */
export type AudioDecodeErrorCode =
  | 'unreadable'
  | 'empty'
  | 'not-audio'
  | 'unsupported-format'
  | 'unsupported-codec'
  | 'invalid-header'
  | 'truncated'
  | 'corrupt'
  | 'too-short'
  | 'silent';

/**
 * An audio file that cannot be used. The message has the form
 * `<fileName>: <reason>. <hint>`. The hint is the action that lets the user go on.
 */
export class AudioDecodeError extends Error {
  override readonly name = 'AudioDecodeError';

  constructor(
    readonly code: AudioDecodeErrorCode,
    readonly fileName: string,
    /** Cause of the failure without the file name, e.g. "the WAV codec is IMA ADPCM". */
    readonly reason: string,
    /** Action for the user, e.g. "Convert the file to 16-bit PCM WAV or FLAC". */
    readonly hint: string,
  ) {
    super(`${fileName}: ${reason}. ${hint}`);
  }
}

/** Hint for files that another program can convert into something we read. */
export const CONVERT_HINT =
  'Convert it to 16-bit PCM WAV or FLAC with an audio editor, sox or ffmpeg, then open the converted file';
