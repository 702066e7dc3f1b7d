// A small command-line parser: long options with or without a value (`--rate 16000`,
// `--rate=16000`), boolean flags (`--json`), one-letter aliases (`-r 16000`), positional
// arguments, `--` to end options, and `-h`/`--help`. Every mistake becomes a UsageError
// whose message names the argument.

/** An option of one command. */
export interface OptionSpec {
  /** Long name without dashes: 'rate' for --rate. */
  name: string;
  /** One-letter alias without the dash: 'r' for -r. */
  short?: string;
  /** Placeholder for the value in help text, e.g. 'HZ'. Absent for boolean flags. */
  valueName?: string;
  /** Help text: the setting, its unit and its default. */
  description: string;
}

/** A positional argument of one command, in order. */
export interface PositionalSpec {
  name: string;
  description: string;
  optional?: boolean;
  /** The last positional only: takes every remaining argument (one or more, or none if optional). */
  variadic?: boolean;
}

/** A mistake in the command line. The CLI prints the message and exits with status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Typed access to parsed options. Each getter throws UsageError for an invalid value. */
export class ParsedArgs {
  constructor(
    readonly positionals: readonly string[],
    private readonly values: ReadonlyMap<string, string | true>,
    /** True when -h or --help was given, in which case other arguments are not validated. */
    readonly help = false,
  ) {}

  /** True when the boolean flag was given. */
  flag(name: string): boolean {
    return this.values.get(name) === true;
  }

  string(name: string): string | undefined {
    const value = this.values.get(name);
    return typeof value === 'string' ? value : undefined;
  }

  /** Parses a numeric option, or returns undefined when the option was not given. */
  number(name: string, limits: { integer?: boolean; min?: number; max?: number } = {}): number | undefined {
    const text = this.string(name);
    if (text === undefined) return undefined;
    const value = Number(text);
    const kind = limits.integer ? 'an integer' : 'a number';
    if (text.trim() === '' || !Number.isFinite(value) || (limits.integer && !Number.isInteger(value))) {
      throw new UsageError(`--${name} must be ${kind}, got '${text}'`);
    }
    if ((limits.min !== undefined && value < limits.min) || (limits.max !== undefined && value > limits.max)) {
      throw new UsageError(`--${name} must be ${kind} from ${limits.min ?? '-infinity'} to ${limits.max ?? 'infinity'}, got ${text}`);
    }
    return value;
  }

  /** Returns the option's value when it is one of choices, undefined when not given. */
  choice<T extends string>(name: string, choices: readonly T[]): T | undefined {
    const text = this.string(name);
    if (text === undefined) return undefined;
    if (!(choices as readonly string[]).includes(text)) {
      throw new UsageError(`--${name} must be one of ${choices.join(', ')}, got '${text}'`);
    }
    return text as T;
  }
}

/** Returns the Levenshtein distance between two strings. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length];
}

/** Returns the name closest to a misspelled one, when at most a third of its letters (at least 1) differ, else null. */
export function closestName(typed: string, names: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Math.max(1, Math.floor(typed.length / 3)) + 1;
  for (const name of names) {
    const distance = editDistance(typed, name);
    if (distance < bestDistance) {
      best = name;
      bestDistance = distance;
    }
  }
  return best;
}

/**
 * Parses argv (without the program and command names) against a command's options and
 * positional arguments. A repeated option keeps its last value.
 * Throws UsageError for unknown options, missing values and wrong positional counts.
 */
export function parseArgs(argv: readonly string[], options: readonly OptionSpec[], positionals: readonly PositionalSpec[]): ParsedArgs {
  const byName = new Map(options.map((option) => [option.name, option]));
  const byShort = new Map(options.filter((option) => option.short !== undefined).map((option) => [option.short as string, option]));
  const values = new Map<string, string | true>();
  const found: string[] = [];

  const optionsEnd = argv.indexOf('--');
  const beforeEnd = optionsEnd === -1 ? argv : argv.slice(0, optionsEnd);
  if (beforeEnd.includes('-h') || beforeEnd.includes('--help')) return new ParsedArgs([], values, true);

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (i === optionsEnd) {
      found.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      found.push(arg);
      continue;
    }

    let spec: OptionSpec | undefined;
    let inlineValue: string | undefined;
    if (arg.startsWith('--')) {
      const equals = arg.indexOf('=');
      const name = equals === -1 ? arg.slice(2) : arg.slice(2, equals);
      if (equals !== -1) inlineValue = arg.slice(equals + 1);
      spec = byName.get(name);
    } else if (arg.length === 2) {
      spec = byShort.get(arg[1]);
    }
    if (spec === undefined) {
      const guess = arg.startsWith('--') ? closestName(arg.slice(2).split('=')[0], [...byName.keys()]) : null;
      throw new UsageError(`unknown option ${arg}${guess ? `; did you mean --${guess}?` : ''}`);
    }

    if (spec.valueName === undefined) {
      if (inlineValue !== undefined) throw new UsageError(`--${spec.name} takes no value, got '${arg}'`);
      values.set(spec.name, true);
      continue;
    }
    if (inlineValue === undefined) {
      // The next argument is the value even when it starts with '-', so negative numbers work.
      if (i + 1 >= argv.length || i + 1 === optionsEnd) throw new UsageError(`--${spec.name} needs a value (${spec.valueName})`);
      inlineValue = argv[++i];
    }
    values.set(spec.name, inlineValue);
  }

  const required = positionals.filter((positional) => !positional.optional).length;
  if (found.length < required) {
    throw new UsageError(`missing ${positionals.slice(found.length, required).map((p) => p.name).join(' and ')}`);
  }
  const variadic = positionals.length > 0 && positionals[positionals.length - 1].variadic === true;
  if (found.length > positionals.length && !variadic) {
    throw new UsageError(`unexpected argument '${found[positionals.length]}'`);
  }
  return new ParsedArgs(found, values);
}

/** Formats the options table of a help text, one option per line, descriptions aligned. */
export function formatOptions(options: readonly OptionSpec[]): string {
  const all = [...options, { name: 'help', short: 'h', description: 'print this help and exit' }];
  const labels = all.map((option) => {
    const long = `--${option.name}${'valueName' in option && option.valueName !== undefined ? ` ${option.valueName}` : ''}`;
    return option.short === undefined ? `    ${long}` : `-${option.short}, ${long}`;
  });
  const width = Math.max(...labels.map((label) => label.length));
  return all.map((option, i) => `  ${labels[i].padEnd(width)}  ${option.description}`).join('\n');
}
