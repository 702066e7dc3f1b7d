// A progress bar on one terminal line, redrawn in place. Without a terminal (a pipe or a
// log file) it prints a plain line at most every ten seconds instead.
import type { CliIo } from './command';

const BAR_WIDTH = 24;
const PLAIN_INTERVAL_MS = 10_000;

export class ProgressLine {
  private lastPlain = 0;
  private drawn = false;

  constructor(private readonly io: CliIo, private readonly interactive: boolean) {}

  /** Shows `label`, a bar filled to `fraction` (0..1) and `detail`. */
  update(label: string, fraction: number, detail: string): void {
    const clamped = Math.min(1, Math.max(0, fraction));
    if (this.interactive) {
      const filled = Math.round(clamped * BAR_WIDTH);
      const bar = '#'.repeat(filled) + '-'.repeat(BAR_WIDTH - filled);
      this.io.stderr(`\r\x1b[2K${label} [${bar}] ${detail}`);
      this.drawn = true;
      return;
    }
    const now = Date.now();
    if (now - this.lastPlain >= PLAIN_INTERVAL_MS || clamped >= 1) {
      this.lastPlain = now;
      this.io.stderr(`${label} (${Math.round(clamped * 100)}%) ${detail}\n`);
    }
  }

  /** Prints a line of its own above the bar. */
  message(text: string): void {
    if (this.interactive && this.drawn) this.io.stderr('\r\x1b[2K');
    this.io.stderr(`${text}\n`);
    this.drawn = false;
  }

  done(): void {
    if (this.interactive && this.drawn) this.io.stderr('\n');
    this.drawn = false;
  }
}
