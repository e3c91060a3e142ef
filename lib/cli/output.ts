/**
 * What every subcommand shares: where output goes, a progress line on stderr (drawn only on a
 * terminal, no dependency), JSON summaries, and the error type that maps to exit code 2.
 * @module
 */
import { TokenfilterError } from '../errors.js';
import type { ErrorCode } from '../errors.js';

/** Exit codes of the `tokenfilter` command. */
export const ExitCode = {
  /** Success. */
  Ok: 0,
  /** The work failed while running (I/O error, native failure, …). */
  Failure: 1,
  /** Bad arguments or bad input files: nothing was done, or it stopped at the bad input. */
  Usage: 2,
} as const;

/**
 * An error caused by the user's arguments or input files: printed as one line, exit code 2.
 */
export class UsageError extends TokenfilterError {
  constructor(message: string, options: { cause?: unknown; code?: ErrorCode; path?: string } = {}) {
    super(options.code ?? 'E_OPTION', message, options);
    this.name = 'UsageError';
  }
}

/** Where a command writes. Tests pass their own; the real CLI uses the process streams. */
export interface CliIO {
  /** Results and JSON summaries. */
  stdout: { write(text: string): unknown };
  /** Progress, messages, errors. */
  stderr: { write(text: string): unknown; isTTY?: boolean; columns?: number };
}

/** The process's own streams. */
export function processIO(): CliIO {
  return { stdout: process.stdout, stderr: process.stderr };
}

/** Writes one JSON summary line to stdout. */
export function writeJson(io: CliIO, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value)}\n`);
}

/** 1234567 → "1.23M", for progress lines. */
export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}

/** Seconds → "1:02:03" or "02:03". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (x: number) => String(x).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${pad(m)}:${pad(s % 60)}`;
}

/**
 * A single redrawn progress line on stderr: a bar when the total is known, the counters, rate
 * and ETA. Draws nothing when stderr is not a terminal (logs stay clean) or when disabled.
 * Redraws at most every 100 ms.
 */
export class ProgressLine {
  private readonly io: CliIO;
  private readonly label: string;
  private readonly enabled: boolean;
  private readonly started = Date.now();
  private lastDraw = 0;
  private drawn = false;

  constructor(io: CliIO, label: string, options: { enabled?: boolean } = {}) {
    this.io = io;
    this.label = label;
    this.enabled = options.enabled ?? Boolean(io.stderr.isTTY);
  }

  /** Seconds since the line was created. */
  get elapsed(): number {
    return (Date.now() - this.started) / 1000;
  }

  /**
   * Updates the line. `done`/`total` drive the bar (total may be unknown); `unit` names them;
   * `extra` is appended (e.g. "1.2M tokens").
   */
  update(done: number, total: number | null, unit: string, extra = '', force = false): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const elapsed = this.elapsed;
    const rate = elapsed > 0 ? done / elapsed : 0;
    let line = `${this.label} `;
    if (total !== null && total > 0) {
      const fraction = Math.min(1, done / total);
      const width = 24;
      const filled = Math.round(fraction * width);
      line += `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% `;
      line += `${formatCount(done)}/${formatCount(total)} ${unit}`;
      if (rate > 0 && done < total) line += ` · ETA ${formatDuration((total - done) / rate)}`;
    } else {
      line += `${formatCount(done)} ${unit}`;
    }
    line += ` · ${formatCount(rate)} ${unit}/s · ${formatDuration(elapsed)}`;
    if (extra) line += ` · ${extra}`;
    const columns = this.io.stderr.columns ?? 100;
    this.io.stderr.write(`\r${line.slice(0, Math.max(20, columns - 1)).padEnd(Math.max(20, columns - 1))}`);
    this.drawn = true;
  }

  /** Ends the line (a newline after the last redraw). */
  finish(): void {
    if (this.drawn) this.io.stderr.write('\n');
    this.drawn = false;
  }
}

/** Refuses an empty or whitespace-only value (which `Number` would read as 0), naming `name`. */
function checkNotEmpty(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '')
    throw new UsageError(`${name} is empty; give a value`);
  return value.trim();
}

/**
 * Parses an integer option value (underscores allowed as separators, `1e6` accepted).
 * @throws UsageError naming the option when the value is empty or not an integer in [min, max].
 */
export function parseIntegerOption(name: string, value: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const cleaned = checkNotEmpty(name, value).replace(/_/g, '');
  const n = /^-?\d+(e\d+)?$/i.test(cleaned) ? Number(cleaned) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw new UsageError(`${name} must be an integer in [${min}, ${max}], got '${value}'`);
  return n;
}

/**
 * Parses a number option value (finite; pass ±Infinity as bounds for any finite number).
 * @throws UsageError naming the option when the value is empty, not finite or outside [min, max].
 */
export function parseNumberOption(name: string, value: string, min: number, max: number): number {
  const n = Number(checkNotEmpty(name, value));
  if (!Number.isFinite(n) || n < min || n > max) {
    const range = Number.isFinite(min) || Number.isFinite(max) ? ` in [${min}, ${max}]` : '';
    throw new UsageError(`${name} must be a number${range}, got '${value}'`);
  }
  return n;
}

/** A commander argument parser for a number option in [min, max] (see {@link parseNumberOption}). */
export function numberOption(name: string, min: number, max: number): (value: string) => number {
  return (value: string) => parseNumberOption(name, value, min, max);
}

/**
 * Reads an integer from the environment variable `name` of `env`, or undefined when unset.
 * @throws UsageError naming the variable when it is set but empty or not an integer in [min, max].
 */
export function parseEnvInteger(env: NodeJS.ProcessEnv, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const value = env[name];
  if (value === undefined) return undefined;
  return parseIntegerOption(`environment variable ${name}`, value, min, max);
}
