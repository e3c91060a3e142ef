/**
 * `tokenfilter eval-mcq --model M --tokenizer T --questions FILE`: multiple-choice accuracy of
 * a model in the cloze and letter formats, under every normalisation, overall, by domain and
 * by subject, with the chance level and the prompt templates.
 * @module
 */
import { writeFileAtomic } from '../data/atomic_file.js';
import { prepareFileOutputs } from '../data/output_path.js';
import type { Command } from 'commander';
import { Tokenizer } from '../data/tokenizer.js';
import { letterTokenIds, scoreMcq, type McqFormat, type McqFormatResult, type McqResult } from '../eval/mcq.js';
import { readMcq, type McqQuestion } from '../eval/mcq_questions.js';
import type { McqGroupScore } from '../eval/mcq_summary.js';
import { Transformer } from '../model/transformer.js';
import { ProgressLine, UsageError, parseIntegerOption, writeJson, type CliIO } from './output.js';

/** Options of `tokenfilter eval-mcq`, as the CLI parses them. */
export interface EvalMcqCommandOptions {
  model: string;
  tokenizer: string;
  questions: string;
  domain?: string;
  subject?: string;
  source?: string;
  limit?: number;
  seed: number;
  format: string;
  batchTokens: number;
  context?: number;
  eotPrefix: boolean;
  records?: string;
  json?: boolean;
}

const list = (value: string | undefined) => (value === undefined ? undefined : value.split(',').map((s) => s.trim()).filter(Boolean));

async function loadInputs(options: EvalMcqCommandOptions): Promise<{ model: Transformer; tokenizer: Tokenizer; questions: McqQuestion[] }> {
  let model: Transformer;
  try {
    model = await Transformer.load(options.model);
  } catch (error) {
    throw new UsageError(`--model ${options.model}: ${(error as Error).message}`, { cause: error });
  }
  let tokenizer: Tokenizer;
  try {
    tokenizer = options.tokenizer === 'cl100k' ? Tokenizer.cl100k() : await Tokenizer.load(options.tokenizer);
  } catch (error) {
    throw new UsageError(`--tokenizer ${options.tokenizer}: ${(error as Error).message}`, { cause: error });
  }
  if (tokenizer.vocabSize > model.config.vocabSize)
    throw new UsageError(`--tokenizer ${options.tokenizer} has ${tokenizer.vocabSize} ids, more than the model's vocabulary of ${model.config.vocabSize}`);
  if (options.context !== undefined && options.context > model.config.context)
    throw new UsageError(`--context ${options.context} is longer than the model's context of ${model.config.context}`);
  let questions: McqQuestion[];
  try {
    questions = await readMcq(options.questions, { domains: list(options.domain), subjects: list(options.subject), sources: list(options.source), limit: options.limit, seed: options.seed });
  } catch (error) {
    throw new UsageError((error as Error).message, { cause: error });
  }
  if (questions.length === 0) throw new UsageError(`${options.questions}: no question matches the filters`);
  return { model, tokenizer, questions };
}

const percent = (x: number) => (Number.isNaN(x) ? '-' : `${(100 * x).toFixed(1)}%`);

function groupLines(title: string, groups: Record<string, McqGroupScore>[], names: string[]): string[] {
  const keys = Object.keys(groups[0]);
  const width = Math.max(14, ...keys.map((k) => k.length + 2));
  const lines = [`  ${title.padEnd(width)}${'n'.padStart(6)}  ${names.map((n) => n.padStart(8)).join('')}`];
  for (const key of keys)
    lines.push(`  ${key.padEnd(width)}${String(groups[0][key].questions).padStart(6)}  ${groups.map((g) => percent(g[key].accuracy).padStart(8)).join('')}`);
  return lines;
}

/** The readable table of one format's scores. */
export function formatMcqTable(result: McqFormatResult): string {
  const t = result.template;
  const names = Object.keys(result.normalisations) as (keyof typeof result.normalisations)[];
  const breakdowns = names.map((n) => result.normalisations[n]!);
  const overall = breakdowns[0].overall;
  const lines = [
    `${result.format}: prompt ${JSON.stringify(t.prefix + t.prompt)}, continuation ${JSON.stringify(t.continuation)}`,
    `  ${result.questions} questions scored, ${result.truncated} truncated on the left, ${result.skipped} skipped (a choice longer than the context); chance ${percent(overall.chance)}`,
    `  ${'normalisation'.padEnd(14)}${'accuracy'.padStart(10)}${'correct'.padStart(9)}${'mean log p(answer)'.padStart(20)}${'mean margin'.padStart(13)}`,
  ];
  names.forEach((name, i) => {
    const s = breakdowns[i].overall;
    lines.push(
      `  ${name.padEnd(14)}${percent(s.accuracy).padStart(10)}${String(s.correct).padStart(9)}${s.meanCorrectLogProb.toFixed(4).padStart(20)}${s.meanMargin.toFixed(4).padStart(13)}`,
    );
  });
  lines.push(...groupLines('domain', breakdowns.map((b) => b.byDomain), names));
  lines.push(...groupLines('subject', breakdowns.map((b) => b.bySubject), names));
  return `${lines.join('\n')}\n`;
}

/** Runs `eval-mcq`. */
export async function evalMcqCommand(options: EvalMcqCommandOptions, io: CliIO): Promise<McqResult> {
  if (!['cloze', 'letter', 'both'].includes(options.format)) throw new UsageError(`--format must be cloze, letter or both, got '${options.format}'`);
  const format = options.format as McqFormat | 'both';
  if (options.records !== undefined)
    await prepareFileOutputs([{ path: options.records, role: '--records' }], [
      { path: options.model, role: '--model' },
      { path: options.tokenizer, role: '--tokenizer' },
      { path: options.questions, role: '--questions' },
    ]);
  const { model, tokenizer, questions } = await loadInputs(options);
  if (format !== 'cloze') {
    try {
      letterTokenIds(tokenizer, Math.max(...questions.map((q) => q.choices.length)));
    } catch (error) {
      throw new UsageError(`--format ${format}: ${(error as Error).message}`, { cause: error });
    }
  }
  const progress = new ProgressLine(io, 'eval-mcq');
  const result = await scoreMcq(model, tokenizer, questions, {
    format,
    batchTokens: options.batchTokens,
    context: options.context,
    eotPrefix: options.eotPrefix,
    records: options.records !== undefined,
    onProgress: (p) => progress.update(p.done, p.total, `${p.format} rows`),
  });
  progress.finish();
  if (options.records !== undefined) {
    const lines: string[] = [];
    for (const r of Object.values(result.formats)) for (const record of r.records ?? []) lines.push(JSON.stringify({ format: r.format, ...record }));
    await writeFileAtomic(options.records, lines.length > 0 ? `${lines.join('\n')}\n` : '');
    for (const r of Object.values(result.formats)) delete r.records;
  }
  if (options.json) writeJson(io, { command: 'eval-mcq', model: options.model, tokenizer: options.tokenizer, questionsFile: options.questions, ...result });
  else {
    io.stdout.write(`${questions.length} questions from ${options.questions}; context ${result.context}\n`);
    for (const r of Object.values(result.formats)) io.stdout.write(formatMcqTable(r));
  }
  return result;
}

/** Adds `eval-mcq` to the program. */
export function registerEvalMcq(program: Command, io: CliIO): void {
  program
    .command('eval-mcq')
    .description('multiple-choice accuracy (cloze and letter formats, every normalisation) by domain and subject')
    .requiredOption('--model <path>', 'model (safetensors) saved by tokenfilter')
    .requiredOption('--tokenizer <path|cl100k>', "the model's tokenizer.json, or cl100k")
    .requiredOption('--questions <file>', 'questions, JSON Lines (.jsonl or .jsonl.gz): {id, question, choices, answer, domain, subject, source}')
    .option('--domain <names>', 'keep these domains (comma-separated)')
    .option('--subject <names>', 'keep these subjects (comma-separated)')
    .option('--source <names>', 'keep these sources, e.g. MMLU,MedMCQA (comma-separated)')
    .option('--limit <n>', 'score a seeded random sample of at most n questions', (v) => parseIntegerOption('--limit', v, 1))
    .option('--seed <n>', 'seed of the --limit sample', (v) => parseIntegerOption('--seed', v, 0), 0)
    .option('--format <format>', 'cloze, letter or both', 'both')
    .option('--batch-tokens <n>', 'token positions per forward pass', (v) => parseIntegerOption('--batch-tokens', v, 1), 4096)
    .option('--context <n>', "longest sequence fed to the model (default: the model's context)", (v) => parseIntegerOption('--context', v, 2))
    .option('--no-eot-prefix', 'do not start prompts with <|endoftext|>')
    .option('--records <file>', 'write one JSON line per question and format (log-probabilities, lengths, picks)')
    .option('--json', 'print a JSON summary on stdout')
    .action(async (options: EvalMcqCommandOptions) => {
      await evalMcqCommand(options, io);
    });
}
