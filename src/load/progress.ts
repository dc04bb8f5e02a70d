// The live progress line on stderr: one line a second, rewritten in place on a terminal, appended
// otherwise (a log file then reads as a per-second trace). No dependency.

import type { Second, WorkerPool } from './pool.js';

export type ProgressFormat = (last: Second | null, pool: WorkerPool) => string;

export class Progress {
  private timer: NodeJS.Timeout | null = null;
  private phaseName = '';
  private phaseStart = 0;
  private fmt: ProgressFormat = () => '';
  private lineOpen = false;
  private readonly tty: boolean;

  constructor(
    private readonly pool: WorkerPool,
    private readonly scenario: string,
    private readonly quiet: boolean,
  ) {
    this.tty = process.stderr.isTTY === true;
  }

  start(): void {
    if (this.timer !== null) return;
    this.timer = setInterval(() => this.tick(), 1000);
    this.timer.unref();
  }

  phase(name: string, fmt: ProgressFormat): void {
    this.phaseName = name;
    this.phaseStart = Date.now();
    this.fmt = fmt;
  }

  /** A permanent line (a phase result, a warning). */
  note(message: string): void {
    if (this.quiet) return;
    this.clearLine();
    process.stderr.write(`${message}\n`);
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.clearLine();
  }

  private clearLine(): void {
    if (this.lineOpen && this.tty) process.stderr.write('\r\x1b[2K');
    this.lineOpen = false;
  }

  private tick(): void {
    this.pool.sampleGauges();
    if (this.quiet) return;
    let body: string;
    try {
      body = this.fmt(this.pool.at(this.pool.nowSec() - 1), this.pool);
    } catch (e) {
      body = `(progress: ${(e as Error).message})`;
    }
    const secs = Math.floor((Date.now() - this.phaseStart) / 1000);
    const line = `[${this.scenario} ${this.phaseName} ${secs}s] ${body}`;
    if (this.tty) {
      const width = process.stderr.columns ?? 120;
      process.stderr.write(`\r\x1b[2K${line.length > width - 1 ? line.slice(0, width - 1) : line}`);
      this.lineOpen = true;
    } else {
      process.stderr.write(`${line}\n`);
    }
  }
}
