#!/usr/bin/env node
/**
 * The `tokenfilter` command. Subcommands live one per file in this folder and are registered
 * here. Exit codes: 0 success, 1 failure while running, 2 bad arguments or bad input files,
 * 130 stopped by Ctrl-C. Every error prints as one stderr line starting `tokenfilter: `
 * (`--verbose` adds the stack); under `--json` the error is also printed on stdout as one JSON
 * object `{"error": {"code", "message"}}`. See docs/cli.md.
 * @module
 */
import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { errorCode, INPUT_ERROR_CODES } from '../errors.js';
import { abortError, isAborted } from '../abort.js';
import { ExitCode, PROGRESS_MODES, UsageError, parseIntegerOption, processIO, writeJson, type CliIO, type ProgressMode } from './output.js';
import { registerAttack } from './attack.js';
import { registerDemo } from './demo.js';
import { registerEval } from './eval.js';
import { registerEvalClassifier } from './eval_classifier.js';
import { registerEvalMcq } from './eval_mcq.js';
import { registerExperiment } from './experiment.js';
import { registerExport } from './export.js';
import { registerFilter } from './filter.js';
import { registerLabel } from './label.js';
import { registerRelabel } from './relabel.js';
import { registerMixture } from './mixture.js';
import { registerRmu } from './rmu.js';
import { registerScore } from './score.js';
import { registerSummary } from './summary.js';
import { registerTokenize } from './tokenize.js';
import { registerTrain } from './train.js';
import { registerTrainClassifier } from './train_classifier.js';

const require = createRequire(import.meta.url);
/** The package version (from package.json; lib/cli and dist/cli are both two levels down). */
export const version = (require('../../package.json') as { version: string }).version;

/** Builds the program with every subcommand, writing to `io`. Commander never exits the process. */
export function createProgram(io: CliIO): Command {
  const program = new Command();
  program
    .name('tokenfilter')
    .description('Token-level data filtering for language-model pretraining')
    .version(version, '-V, --version', 'print the version')
    .option('--threads <n>', 'threads for the native kernels (default: all cores, or TOKENFILTER_THREADS)', (v) =>
      parseIntegerOption('--threads', v, 1, 1024),
    )
    .option('--verbose', 'print stack traces with errors')
    .option('--progress <mode>', 'auto (bar on a terminal, a line every 10 s otherwise) | bar | lines | none', parseProgressMode, 'auto')
    .showHelpAfterError(HELP_HINT)
    .configureOutput(outputConfig(io))
    .exitOverride();
  program.hook('preAction', async (root) => {
    io.progress = root.opts().progress as ProgressMode;
    const threads = root.opts().threads as number | undefined;
    if (threads !== undefined) {
      const { setThreads } = await import('../native.js');
      setThreads(threads);
    }
  });
  registerTokenize(program, io);
  registerFilter(program, io);
  registerLabel(program, io);
  registerTrain(program, io);
  registerEval(program, io);
  registerDemo(program, io);
  registerTrainClassifier(program, io);
  registerScore(program, io);
  registerSummary(program, io);
  registerEvalClassifier(program, io);
  registerEvalMcq(program, io);
  registerAttack(program, io);
  registerRelabel(program, io);
  registerRmu(program, io);
  registerExperiment(program, io);
  registerMixture(program, io);
  registerExport(program, io);
  for (const command of program.commands) {
    command.exitOverride();
    command.configureOutput(outputConfig(io));
    command.showHelpAfterError(HELP_HINT);
  }
  return program;
}

const HELP_HINT = 'tokenfilter: run with --help for usage';

/** Commander's output: help to stdout, its error lines prefixed `tokenfilter: ` on stderr. */
function outputConfig(io: CliIO) {
  return {
    writeOut: (s: string) => io.stdout.write(s),
    writeErr: (s: string) => io.stderr.write(s),
    outputError: (s: string, write: (s: string) => void) => write(`tokenfilter: ${s}`),
  };
}

function parseProgressMode(value: string): ProgressMode {
  if (!(PROGRESS_MODES as readonly string[]).includes(value))
    throw new UsageError(`--progress must be one of ${PROGRESS_MODES.join(', ')}, got '${value}'`);
  return value as ProgressMode;
}

/** The code an error prints under `--json`: its TokenfilterError code, or E_UNKNOWN. */
export function jsonErrorCode(error: unknown): string {
  if (error instanceof CommanderError) return 'E_OPTION';
  if (isAborted(error)) return 'E_ABORTED';
  return errorCode(error) ?? 'E_UNKNOWN';
}

/**
 * Runs the command line `argv` (without `node` and the script) and returns the exit code;
 * never throws and never exits the process.
 */
export async function runCli(argv: string[], io: CliIO = processIO()): Promise<number> {
  const program = createProgram(io);
  const json = argv.includes('--json');
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ExitCode.Ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // help and version are "errors" to commander; its usage message is already printed
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return ExitCode.Ok;
      if (json) writeJson(io, { error: { code: jsonErrorCode(error), message: error.message.replace(/^error: /, '') } });
      if (error.code === 'commander.executeSubCommandAsync') return ExitCode.Failure;
      return ExitCode.Usage;
    }
    const interrupted = io.signal?.aborted === true;
    const thrown = interrupted ? abortError('command (Ctrl-C)') : error;
    const message = (thrown instanceof Error ? thrown.message : String(thrown)).split('\n')[0];
    io.stderr.write(`tokenfilter: error: ${message}\n`);
    const verbose = Boolean(program.opts().verbose) || argv.includes('--verbose');
    if (verbose && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
    if (json) writeJson(io, { error: { code: jsonErrorCode(thrown), message } });
    return interrupted ? ExitCode.Interrupted : exitCodeOf(error);
  }
}

/** Exit code for a thrown value: 2 for bad input (by its code), 1 for every other failure. */
export function exitCodeOf(error: unknown): number {
  const code = errorCode(error);
  return code !== undefined && INPUT_ERROR_CODES.has(code) ? ExitCode.Usage : ExitCode.Failure;
}

/** True when this file is the process's entry point (directly or through the npm bin link). */
function isEntryPoint(): boolean {
  if (!process.argv[1]) return false;
  try {
    return realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

/**
 * Ctrl-C: the first SIGINT fires `signal` (commands that take one stop at their next check,
 * remove their temporary files and exit 130); a command still running 10 s later, or a second
 * SIGINT, exits 130 at once (outputs appear only by atomic rename, so none is left half-written
 * under its final name).
 */
function interruptSignal(): AbortSignal {
  const controller = new AbortController();
  process.on('SIGINT', () => {
    if (controller.signal.aborted) process.exit(ExitCode.Interrupted);
    controller.abort();
    setTimeout(() => {
      process.stderr.write('tokenfilter: error: interrupted (Ctrl-C); the command did not stop within 10 s\n');
      process.exit(ExitCode.Interrupted);
    }, 10_000).unref();
  });
  return controller.signal;
}

if (isEntryPoint()) {
  runCli(process.argv.slice(2), { ...processIO(), signal: interruptSignal() }).then((code) => {
    process.exitCode = code;
  });
}
