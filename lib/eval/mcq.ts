/**
 * Multiple-choice evaluation of a {@link Transformer}, in the two formats in common use and
 * under every length normalisation, with the exact prompt recorded, since these choices change
 * the results.
 *
 * - **cloze**: prompt `Question: {question}\nAnswer:`, continuation ` {choice}`; each choice is
 *   scored by the log-likelihood of its continuation tokens given the prompt. Accuracy is
 *   reported with the raw sum and normalised per token, per character (Unicode code points of
 *   the continuation, its leading space included) and per UTF-8 byte of the continuation.
 * - **letter**: the choices listed as `A. …` lines after the question, then `Answer:`; the
 *   answer is the letter among ` A`, ` B`, … with the highest next-token log-probability (each
 *   letter must be one token under the tokenizer). One forward pass per question: the final
 *   norm's output at the prompt's last position (`model.hiddenStates`, layer L + 1) times the LM
 *   head gives the whole next-token distribution, normalised over the vocabulary in float64.
 *
 * Prompts start with `<|endoftext|>` by default (shards put it before every document). Prompt
 * and continuation are tokenized separately and the ids concatenated. A prompt too long for the
 * context is cut on the left (its end kept) and counted; a question with a choice that does not
 * fit at all is skipped and counted. Nothing is cut silently.
 * @module
 */
import { throwIfAborted } from '../abort.js';
import type { Batch } from '../data/batch.js';
import type { Tokenizer } from '../data/tokenizer.js';
import type { Transformer } from '../model/transformer.js';
import { MAX_CHOICES, toMcqQuestion, type McqQuestion } from './mcq_questions.js';
import { summariseMcq, type McqBreakdown, type McqNormalisation, type McqScoredQuestion } from './mcq_summary.js';
import { TokenfilterError, CodedTypeError, CodedRangeError } from '../errors.js';

/** A prompt format. */
export type McqFormat = 'cloze' | 'letter';

/** The exact text a format feeds the model, with `{…}` placeholders. */
export interface McqTemplate {
  /** Text before the prompt: '<|endoftext|>' (as a special id) or '' when `eotPrefix` is off. */
  prefix: string;
  prompt: string;
  continuation: string;
  /** How the pieces become token ids. */
  tokenization: string;
}

/** Options of {@link scoreMcq}; defaults in {@link MCQ_DEFAULTS}. */
export interface ScoreMcqOptions {
  /** Which formats to score. Default 'both'. */
  format?: McqFormat | 'both';
  /** Token positions per forward pass (rows × padded length, integer ≥ 1; a longer row goes alone). Default 4096. */
  batchTokens?: number;
  /** Longest sequence fed to the model (integer in [2, model context]). Default: the model's context. */
  context?: number;
  /** Start every prompt with the `<|endoftext|>` id. Default true. */
  eotPrefix?: boolean;
  /** Return one record per question and format, for audit. Default false. */
  records?: boolean;
  /** Stops before the next forward pass; the promise rejects with an AbortError. */
  signal?: AbortSignal;
  /** Called after every forward pass with the rows done. */
  onProgress?: (progress: McqProgress) => void;
}

/** Progress of {@link scoreMcq}. */
export interface McqProgress {
  format: McqFormat;
  /** Rows scored so far in this format (cloze: one per question and choice; letter: one per question). */
  done: number;
  total: number;
}

/** Defaults of {@link ScoreMcqOptions}. */
export const MCQ_DEFAULTS = Object.freeze({ format: 'both' as const, batchTokens: 4096, eotPrefix: true, records: false });

/** One question as scored in one format (returned when `records` is set). */
export interface McqRecord {
  id: string;
  domain: string;
  subject: string;
  answer: number;
  /** Whether the prompt was cut on the left for some choice. */
  truncated: boolean;
  /** Per choice: log-probability (nats) of its continuation given the prompt. */
  logProbs: number[];
  /** Per choice: continuation tokens, characters (code points) and UTF-8 bytes. */
  tokens: number[];
  chars: number[];
  bytes: number[];
  /** The choice picked under each normalisation. */
  predicted: Partial<Record<McqNormalisation, number>>;
}

/** The scores of one format. */
export interface McqFormatResult {
  format: McqFormat;
  template: McqTemplate;
  /** Questions scored. */
  questions: number;
  /** Questions whose prompt was cut on the left to fit the context (included in the scores). */
  truncated: number;
  /** Questions left out because a choice's continuation alone does not fit the context. */
  skipped: number;
  skippedIds: string[];
  /** cloze: raw, token, char, byte; letter: raw (one token per answer, so the others agree). */
  normalisations: Partial<Record<McqNormalisation, McqBreakdown>>;
  records?: McqRecord[];
}

/** What {@link scoreMcq} returns. */
export interface McqResult {
  /** Questions given. */
  questions: number;
  /** Sequence length limit used. */
  context: number;
  formats: Partial<Record<McqFormat, McqFormatResult>>;
}

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const TOKENIZATION = 'prefix, prompt and continuation tokenized separately; ids concatenated';

/** The templates of both formats, as recorded in results. */
export function mcqTemplate(format: McqFormat, eotPrefix = true): McqTemplate {
  const prefix = eotPrefix ? '<|endoftext|>' : '';
  if (format === 'cloze') return { prefix, prompt: 'Question: {question}\nAnswer:', continuation: ' {choice}', tokenization: TOKENIZATION };
  return {
    prefix,
    prompt: 'Question: {question}\nA. {choices[0]}\nB. {choices[1]}\n… (one line per choice)\nAnswer:',
    continuation: ' {letter}',
    tokenization: TOKENIZATION,
  };
}

/** The cloze prompt of a question. */
export function clozePrompt(question: McqQuestion): string {
  return `Question: ${question.question}\nAnswer:`;
}

/** The letter-format prompt of a question (choices as `A. …` lines). */
export function letterPrompt(question: McqQuestion): string {
  return `Question: ${question.question}\n${question.choices.map((c, i) => `${LETTERS[i]}. ${c}\n`).join('')}Answer:`;
}

interface Resolved {
  formats: McqFormat[];
  batchTokens: number;
  context: number;
  eotPrefix: boolean;
  records: boolean;
  signal: AbortSignal | undefined;
  onProgress: ((p: McqProgress) => void) | undefined;
}

const KNOWN = new Set(['format', 'batchTokens', 'context', 'eotPrefix', 'records', 'signal', 'onProgress']);

function resolveOptions(options: ScoreMcqOptions, modelContext: number): Resolved {
  if (options === null || typeof options !== 'object') throw new CodedTypeError('options must be an object');
  for (const key of Object.keys(options))
    if (!KNOWN.has(key)) throw new CodedTypeError(`unknown option '${key}' (known: ${[...KNOWN].join(', ')})`);
  const o = { ...MCQ_DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as ScoreMcqOptions &
    typeof MCQ_DEFAULTS;
  const format: unknown = o.format;
  if (format !== 'cloze' && format !== 'letter' && format !== 'both')
    throw new CodedTypeError(`options.format must be 'cloze', 'letter' or 'both', got ${JSON.stringify(format)}`);
  if (!Number.isSafeInteger(o.batchTokens) || o.batchTokens < 1)
    throw new CodedRangeError(`options.batchTokens must be a positive integer, got ${o.batchTokens}`);
  const context = o.context ?? modelContext;
  if (!Number.isInteger(context) || context < 2 || context > modelContext)
    throw new CodedRangeError(`options.context must be an integer in [2, ${modelContext}] (the model's context), got ${context}`);
  for (const key of ['eotPrefix', 'records'] as const)
    if (typeof o[key] !== 'boolean') throw new CodedTypeError(`options.${key} must be a boolean`);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw new CodedTypeError('options.signal must be an AbortSignal');
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function') throw new CodedTypeError('options.onProgress must be a function');
  return {
    formats: format === 'both' ? ['cloze', 'letter'] : [format],
    batchTokens: o.batchTokens,
    context,
    eotPrefix: o.eotPrefix,
    records: o.records,
    signal: o.signal,
    onProgress: o.onProgress,
  };
}

/**
 * One sequence to score: prompt ids then continuation ids (letter format: the prompt then the
 * first letter, whose position is where every letter is read).
 */
interface Row {
  question: number;
  choice: number;
  ids: Uint32Array;
  /** Continuation tokens at the end of `ids`. */
  continuation: number;
}

/**
 * The ids of ` A`, ` B`, … (the first `count` letters), the letter format's continuations.
 * @throws TokenfilterError E_OPTION when one of them is not a single token under `tokenizer`.
 */
export function letterTokenIds(tokenizer: Tokenizer, count: number): number[] {
  if (!Number.isInteger(count) || count < 1 || count > MAX_CHOICES) throw new CodedRangeError(`count must be an integer in [1, ${MAX_CHOICES}], got ${count}`);
  const ids: number[] = [];
  for (let i = 0; i < count; i++) {
    const text = ` ${LETTERS[i]}`;
    const encoded = tokenizer.encode(text);
    if (encoded.length !== 1)
      throw new TokenfilterError(
        'E_OPTION',
        `the letter format needs '${text}' to be one token, but tokenizer ${tokenizer.name} encodes it as ${encoded.length} tokens ` +
          `[${[...encoded].join(', ')}]; use the cloze format with this tokenizer`,
      );
    ids.push(encoded[0]);
  }
  return ids;
}

/** The LM head's weights [V, C] (the token embedding when tied). */
function lmHead(model: Transformer): Float32Array {
  const name = model.config.tieEmbeddings ? 'wte.weight' : 'lm_head.weight';
  const info = model.tensorInfo().find((t) => t.name === name);
  if (!info) throw new TokenfilterError('E_STATE', `the model has no tensor '${name}'`);
  return model.getParameters().subarray(info.offset, info.offset + info.size);
}

/**
 * log softmax(W h) at the given ids, in float64: h is the final norm's output at one position
 * (what the LM head reads) and W the head [V, C].
 */
function nextTokenLogProbs(h: Float32Array, head: Float32Array, ids: readonly number[]): number[] {
  const C = h.length;
  const V = head.length / C;
  const logits = new Float64Array(V);
  let max = Number.NEGATIVE_INFINITY;
  for (let v = 0; v < V; v++) {
    let z = 0;
    for (let c = 0, w = v * C; c < C; c++, w++) z += h[c] * head[w];
    logits[v] = z;
    if (z > max) max = z;
  }
  let sum = 0;
  for (let v = 0; v < V; v++) sum += Math.exp(logits[v] - max);
  const logZ = max + Math.log(sum);
  return ids.map((id) => logits[id] - logZ);
}

function concat(a: Uint32Array, b: Uint32Array): Uint32Array {
  const out = new Uint32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * Scores questions with `model`, reading text through `tokenizer`. Rows (cloze: one per question
 * and choice; letter: one per question) are sorted by length and packed several to a forward
 * pass (cloze: `model.tokenLosses` with the loss mask on the continuation positions). A
 * question counts as correct when its answer scores strictly above every other choice (a tie
 * is wrong).
 * @throws TypeError / RangeError for a malformed question (naming `questions[i]`), a bad option,
 *   or a tokenizer with more ids than the model; TokenfilterError E_OPTION when a letter is not a single token
 *   (letter format); AbortError when `options.signal` fires.
 */
export async function scoreMcq(
  model: Transformer,
  tokenizer: Tokenizer,
  questions: readonly McqQuestion[],
  options: ScoreMcqOptions = {},
): Promise<McqResult> {
  if (model === null || typeof model !== 'object' || typeof model.tokenLosses !== 'function') throw new CodedTypeError('model must be a Transformer');
  if (tokenizer === null || typeof tokenizer !== 'object' || typeof tokenizer.encode !== 'function') throw new CodedTypeError('tokenizer must be a Tokenizer');
  if (tokenizer.vocabSize > model.config.vocabSize)
    throw new CodedRangeError(`tokenizer ${tokenizer.name} has ${tokenizer.vocabSize} ids, more than the model's vocabulary of ${model.config.vocabSize}`);
  if (!Array.isArray(questions)) throw new CodedTypeError('questions must be an array of questions');
  const o = resolveOptions(options, model.config.context);
  const checked = questions.map((q, i) => {
    const result = toMcqQuestion(q, `questions[${i}]`);
    if (typeof result === 'string') throw new CodedTypeError(`questions[${i}]: ${result}`);
    return result;
  });
  throwIfAborted(o.signal, 'multiple-choice scoring');
  const result: McqResult = { questions: checked.length, context: o.context, formats: {} };
  for (const format of o.formats) result.formats[format] = await scoreFormat(model, tokenizer, checked, format, o);
  return result;
}

/** Scores every question in one prompt format: rows to score, their log-probabilities, then the summary. */
async function scoreFormat(model: Transformer, tokenizer: Tokenizer, questions: McqQuestion[], format: McqFormat, o: Resolved): Promise<McqFormatResult> {
  const maxChoices = questions.reduce((m, q) => Math.max(m, q.choices.length), 0);
  const letters = format === 'letter' && maxChoices > 0 ? letterTokenIds(tokenizer, maxChoices) : [];
  const { rows, scored, skippedIds } = formatRows(tokenizer, questions, format, letters, o);
  await scoreRows(model, tokenizer, rows, scored, format, letters, o);
  return formatResult(scored, skippedIds, format, o);
}

/** The rows to score (one per choice; one per question for letters) and an entry per question kept; questions too long to score are skipped. */
function formatRows(tokenizer: Tokenizer, questions: McqQuestion[], format: McqFormat, letters: number[], o: Resolved) {
  const prefix = o.eotPrefix ? Uint32Array.of(tokenizer.eotId) : new Uint32Array(0);
  const maxLength = o.context + 1; // inputs are ids[0..n-2], so n - 1 ≤ context
  const rows: Row[] = [];
  const skippedIds: string[] = [];
  const scored: McqScoredQuestion[] = [];
  for (const q of questions) {
    const prompt = concat(prefix, tokenizer.encode(format === 'cloze' ? clozePrompt(q) : letterPrompt(q)));
    const continuations = q.choices.map((c, ci) => (format === 'cloze' ? tokenizer.encode(` ${c}`) : Uint32Array.of(letters[ci])));
    // at least one prompt token must precede the continuation
    if (continuations.some((c) => c.length + 1 > maxLength)) {
      skippedIds.push(q.id);
      continue;
    }
    const text = q.choices.map((c, ci) => (format === 'cloze' ? ` ${c}` : ` ${LETTERS[ci]}`));
    const entry: McqScoredQuestion = {
      question: q,
      logProbs: new Array<number>(q.choices.length).fill(0),
      tokens: continuations.map((c) => c.length),
      chars: text.map((t) => [...t].length),
      bytes: text.map((t) => Buffer.byteLength(t, 'utf8')),
      truncated: false,
    };
    continuations.forEach((c, ci) => {
      // the letter rows differ only in the target after the prompt: one row reads them all
      if (format === 'letter' && ci > 0) return;
      let p = prompt;
      if (p.length + c.length > maxLength) {
        p = p.subarray(p.length - (maxLength - c.length));
        entry.truncated = true;
      }
      rows.push({ question: scored.length, choice: ci, ids: concat(p, c), continuation: c.length });
    });
    scored.push(entry);
  }
  return { rows, scored, skippedIds };
}

/** Fills each entry's log-probabilities: rows batched longest first, summed continuation losses (cloze) or next-token log-probabilities of the letters. */
async function scoreRows(model: Transformer, tokenizer: Tokenizer, rows: Row[], scored: McqScoredQuestion[], format: McqFormat, letters: number[], o: Resolved): Promise<void> {
  rows.sort((a, b) => b.ids.length - a.ids.length);
  const head = format === 'letter' ? lmHead(model) : undefined;
  let done = 0;
  while (done < rows.length) {
    throwIfAborted(o.signal, 'multiple-choice scoring');
    const T = rows[done].ids.length - 1;
    const B = Math.max(1, Math.min(rows.length - done, Math.floor(o.batchTokens / T)));
    const batch: Batch = {
      inputs: new Uint32Array(B * T).fill(tokenizer.eotId),
      targets: new Uint32Array(B * T).fill(tokenizer.eotId),
      lossMask: new Uint8Array(B * T),
      batch: B,
      context: T,
    };
    for (let r = 0; r < B; r++) {
      const { ids, continuation } = rows[done + r];
      const n = ids.length;
      batch.inputs.set(ids.subarray(0, n - 1), r * T);
      batch.targets.set(ids.subarray(1), r * T);
      batch.lossMask.fill(1, r * T + n - 1 - continuation, r * T + n - 1);
    }
    if (head) {
      // next-token log-probabilities at each prompt's last position, for every letter
      const hidden = await model.hiddenStates(batch.inputs, model.config.layers + 1, { batch: B, context: T });
      const C = model.config.dModel;
      for (let r = 0; r < B; r++) {
        const row = rows[done + r];
        const at = (r * T + row.ids.length - 2) * C;
        const entry = scored[row.question];
        const logProbs = nextTokenLogProbs(hidden.subarray(at, at + C), head, letters.slice(0, entry.logProbs.length));
        logProbs.forEach((lp, c) => (entry.logProbs[c] = lp));
      }
    } else {
      const losses = await model.tokenLosses(batch);
      for (let r = 0; r < B; r++) {
        const row = rows[done + r];
        const end = r * T + row.ids.length - 1;
        let sum = 0;
        for (let i = end - row.continuation; i < end; i++) sum += losses[i];
        scored[row.question].logProbs[row.choice] = -sum;
      }
    }
    done += B;
    o.onProgress?.({ format, done, total: rows.length });
  }
}

/** The format's summary under each normalisation, with per-question records when asked for. */
function formatResult(scored: McqScoredQuestion[], skippedIds: string[], format: McqFormat, o: Resolved): McqFormatResult {
  const normalisations: McqNormalisation[] = format === 'cloze' ? ['raw', 'token', 'char', 'byte'] : ['raw'];
  const { breakdowns, predicted } = summariseMcq(scored, normalisations);
  const out: McqFormatResult = {
    format,
    template: mcqTemplate(format, o.eotPrefix),
    questions: scored.length,
    truncated: scored.filter((s) => s.truncated).length,
    skipped: skippedIds.length,
    skippedIds,
    normalisations: breakdowns,
  };
  if (o.records)
    out.records = scored.map((s, i) => ({
      id: s.question.id,
      domain: s.question.domain,
      subject: s.question.subject,
      answer: s.question.answer,
      truncated: s.truncated,
      logProbs: s.logProbs,
      tokens: s.tokens,
      chars: s.chars,
      bytes: s.bytes,
      predicted: predicted[i],
    }));
  return out;
}
