/**
 * What every subcommand shares: where output goes, progress on stderr (a redrawn bar on a
 * terminal, plain lines every 10 s in logs; no dependency), JSON summaries, and the error type
 * that maps to exit code 2.
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
  /** Stopped by Ctrl-C (SIGINT): 128 + 2, as shells report it. */
  Interrupted: 130,
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
  /** How progress is shown (the global `--progress`; default `auto`). */
  progress?: ProgressMode;
  /** Fires on Ctrl-C (SIGINT) in the real CLI; commands that can stop early pass it on. */
  signal?: AbortSignal;
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

/** How progress is shown: `auto` is `bar` when stderr is a terminal and `lines` otherwise. */
export type ProgressMode = 'auto' | 'bar' | 'lines' | 'none';

/** The progress modes `--progress` accepts. */
export const PROGRESS_MODES: readonly ProgressMode[] = ['auto', 'bar', 'lines', 'none'];

/** Width used when the terminal reports none, or 0 columns (some CI terminals and containers). */
export const DEFAULT_COLUMNS = 80;

/** Options of {@link ProgressLine}. */
export interface ProgressLineOptions {
  /** Overrides `io.progress` (default `auto`). */
  mode?: ProgressMode;
  /** Milliseconds between plain lines in `lines` mode (default 10 000). */
  lineInterval?: number;
  /** Milliseconds since some origin; tests pass a fake clock (default `Date.now`). */
  clock?: () => number;
}

/**
 * Progress on stderr: a bar when the total is known, the counters, rate and ETA.
 * - `bar`: one line redrawn in place (`\r`), at most every 100 ms, cut to the terminal width
 *   ({@link DEFAULT_COLUMNS} when the terminal reports 0 or no columns).
 * - `lines`: a plain line (no `\r`, no padding) at most every `lineInterval` ms (10 s), for job
 *   logs; the first after one interval, so stages shorter than that print nothing, and a last
 *   line at {@link ProgressLine.finish} when any was printed.
 * - `none`: nothing.
 */
export class ProgressLine {
  private readonly io: CliIO;
  private readonly label: string;
  /** The resolved mode: never `auto`. */
  readonly mode: Exclude<ProgressMode, 'auto'>;
  private readonly clock: () => number;
  private readonly lineInterval: number;
  private readonly started: number;
  private lastDraw: number;
  private drawn = false;
  private pending: string | null = null;

  constructor(io: CliIO, label: string, options: ProgressLineOptions = {}) {
    this.io = io;
    this.label = label;
    const mode = options.mode ?? io.progress ?? 'auto';
    this.mode = mode === 'auto' ? (io.stderr.isTTY ? 'bar' : 'lines') : mode;
    this.clock = options.clock ?? Date.now;
    this.lineInterval = options.lineInterval ?? 10_000;
    this.started = this.clock();
    this.lastDraw = this.mode === 'lines' ? this.started : -Infinity;
  }

  /** Seconds since the line was created. */
  get elapsed(): number {
    return (this.clock() - this.started) / 1000;
  }

  /**
   * Updates the progress. `done`/`total` drive the bar, percentage and ETA (total may be
   * unknown: null); `unit` names them; `extra` is appended (e.g. "1.2M tokens"). `force` redraws
   * a bar now; it does not make `lines` print more often than its interval.
   */
  update(done: number, total: number | null, unit: string, extra = '', force = false): void {
    if (this.mode === 'none') return;
    const now = this.clock();
    const interval = this.mode === 'lines' ? this.lineInterval : force ? 0 : 100;
    const text = this.describe(done, total, unit, extra);
    if (now - this.lastDraw < interval) {
      this.pending = text;
      return;
    }
    this.lastDraw = now;
    this.pending = null;
    this.draw(text);
  }

  /** The progress text, without bar decoration for `lines`. */
  private describe(done: number, total: number | null, unit: string, extra: string): string {
    const elapsed = this.elapsed;
    const rate = elapsed > 0 ? done / elapsed : 0;
    let line = `${this.label} `;
    if (total !== null && total > 0) {
      const fraction = Math.min(1, done / total);
      if (this.mode === 'bar') {
        const filled = Math.round(fraction * 24);
        line += `[${'#'.repeat(filled)}${'.'.repeat(24 - filled)}] `;
      }
      line += `${(fraction * 100).toFixed(0).padStart(3)}% ${formatCount(done)}/${formatCount(total)} ${unit}`;
      if (rate > 0 && done < total) line += ` · ETA ${formatDuration((total - done) / rate)}`;
    } else {
      line += `${formatCount(done)} ${unit}`;
    }
    line += ` · ${formatCount(rate)} ${unit}/s · ${formatDuration(elapsed)}`;
    return extra ? `${line} · ${extra}` : line;
  }

  private draw(text: string): void {
    if (this.mode === 'lines') {
      this.io.stderr.write(`${text}\n`);
    } else {
      const width = Math.max(20, (this.io.stderr.columns || DEFAULT_COLUMNS) - 1);
      this.io.stderr.write(`\r${text.slice(0, width).padEnd(width)}`);
    }
    this.drawn = true;
  }

  /** Ends the progress: a newline after a bar; in `lines` mode the latest state, if a line was printed and it changed since. */
  finish(): void {
    if (this.mode === 'bar' && this.drawn) this.io.stderr.write('\n');
    if (this.mode === 'lines' && this.drawn && this.pending !== null) this.io.stderr.write(`${this.pending}\n`);
    this.drawn = false;
    this.pending = null;
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
