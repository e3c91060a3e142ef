#!/usr/bin/env node
/**
 * The `tokenfilter` command. Subcommands live one per file in this folder and are registered
 * here. Exit codes: 0 success, 1 failure while running, 2 bad arguments or bad input files.
 * Errors print as one line; `--verbose` adds the stack.
 * @module
 */
import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { errorCode, INPUT_ERROR_CODES } from '../errors.js';
import { ExitCode, UsageError, parseIntegerOption, processIO, type CliIO } from './output.js';
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
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .exitOverride();
  program.hook('preAction', async (root) => {
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
    command.configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
    command.showHelpAfterError('(run with --help for usage)');
  }
  return program;
}

/**
 * Runs the command line `argv` (without `node` and the script) and returns the exit code;
 * never throws and never exits the process.
 */
export async function runCli(argv: string[], io: CliIO = processIO()): Promise<number> {
  const program = createProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ExitCode.Ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // help and version are "errors" to commander; its usage message is already printed
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return ExitCode.Ok;
      if (error.code === 'commander.executeSubCommandAsync') return ExitCode.Failure;
      return ExitCode.Usage;
    }
    const verbose = Boolean(program.opts().verbose) || argv.includes('--verbose');
    const message = error instanceof Error ? error.message : String(error);
    io.stderr.write(`tokenfilter: error: ${message.split('\n')[0]}\n`);
    if (verbose && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
    return exitCodeOf(error);
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

if (isEntryPoint()) {
  runCli(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
