/**
 * Sampling from a {@link Transformer} with a KV cache: the prompt is read in one native call,
 * then one token per call, each attending to the cached keys and values of every position before
 * it (native `decode`; the same ops as the full forward). Greedy at temperature 0, else softmax
 * sampling at `temperature` over the `topK` most likely tokens (0 = all), from a seeded generator.
 * @module
 */
import { throwIfAborted } from '../abort.js';
import { Sfc32, seedWords } from '../data/random.js';
import { TokenfilterError } from '../errors.js';
import type { Transformer } from '../model/transformer.js';
import { setSteering, type Steering } from './steering.js';

/** Options of {@link generate}. */
export interface GenerateOptions {
  /** New tokens to produce (default 64); prompt + maxTokens must fit the context. */
  maxTokens?: number;
  /** 0 = greedy (default 1). */
  temperature?: number;
  /** Sample among the K most likely tokens; 0 = all (default 0). */
  topK?: number;
  /** Seed of the sampler (default 0). */
  seed?: number;
  /** Stop after producing this token (e.g. `<|endoftext|>`); it is included in the output. */
  stopToken?: number;
  /** Steering applied while generating (and cleared after); undefined leaves the model's own. */
  steering?: Steering | null;
  /** Stops at the next token with an AbortError. */
  signal?: AbortSignal;
}

const DEFAULTS = { maxTokens: 64, temperature: 1, topK: 0, seed: 0 };
const KNOWN = new Set(['maxTokens', 'temperature', 'topK', 'seed', 'stopToken', 'steering', 'signal']);

function resolve(model: Transformer, prompt: Uint32Array, options: GenerateOptions) {
  for (const key of Object.keys(options)) if (!KNOWN.has(key)) throw new TokenfilterError('E_OPTION', `unknown generate option '${key}'`);
  const o = { ...DEFAULTS, ...options };
  const { vocabSize, context } = model.config;
  if (!(prompt instanceof Uint32Array) || prompt.length === 0) throw new TokenfilterError('E_OPTION', 'prompt must be a non-empty Uint32Array of token ids');
  for (let i = 0; i < prompt.length; i++)
    if (prompt[i] >= vocabSize) throw new TokenfilterError('E_OPTION', `prompt[${i}] = ${prompt[i]} is not below the vocabulary size ${vocabSize}`);
  if (!Number.isInteger(o.maxTokens) || o.maxTokens < 1) throw new TokenfilterError('E_OPTION', `maxTokens must be a positive integer, got ${o.maxTokens}`);
  if (prompt.length + o.maxTokens > context)
    throw new TokenfilterError('E_OPTION', `prompt (${prompt.length}) + maxTokens (${o.maxTokens}) exceeds the context of ${context}`);
  if (!(o.temperature >= 0) || !Number.isFinite(o.temperature)) throw new TokenfilterError('E_OPTION', `temperature must be a finite number >= 0, got ${o.temperature}`);
  if (!Number.isInteger(o.topK) || o.topK < 0) throw new TokenfilterError('E_OPTION', `topK must be an integer >= 0, got ${o.topK}`);
  seedWords(o.seed, 'seed');
  return o;
}

/** Index of the next token from logits: argmax at temperature 0, else a tempered top-K draw. */
export function sampleToken(logits: Float32Array, temperature: number, topK: number, rng: Sfc32): number {
  if (temperature === 0) {
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
    return best;
  }
  let order = Array.from(logits.keys());
  if (topK > 0 && topK < logits.length) order = order.sort((a, b) => logits[b] - logits[a] || a - b).slice(0, topK);
  let max = -Infinity;
  for (const i of order) max = Math.max(max, logits[i]);
  const weights = order.map((i) => Math.exp((logits[i] - max) / temperature));
  const total = weights.reduce((s, w) => s + w, 0);
  let u = rng.nextUnit() * total;
  for (let j = 0; j < order.length; j++) {
    u -= weights[j];
    if (u < 0) return order[j];
  }
  return order[order.length - 1];
}

/**
 * Continues `prompt` by up to `maxTokens` tokens and returns the new tokens.
 * @throws TokenfilterError E_OPTION for an empty prompt, an id outside the vocabulary, prompt +
 *   maxTokens past the context, a bad temperature / topK / seed or steering; AbortError.
 */
export async function generate(model: Transformer, prompt: Uint32Array, options: GenerateOptions = {}): Promise<Uint32Array> {
  const o = resolve(model, prompt, options);
  const [lo, hi] = seedWords(o.seed);
  const rng = new Sfc32(lo, hi, 0x67656e);
  if (o.steering !== undefined) setSteering(model, o.steering);
  try {
    const cache = model.newDecodeCache();
    const out: number[] = [];
    let logits: Float32Array = await model.decode(cache, prompt);
    while (out.length < o.maxTokens) {
      throwIfAborted(o.signal, 'generate');
      const next = sampleToken(logits, o.temperature, o.topK, rng);
      out.push(next);
      if (next === o.stopToken || out.length === o.maxTokens) break;
      logits = await model.decode(cache, Uint32Array.of(next));
    }
    return Uint32Array.from(out);
  } finally {
    if (o.steering !== undefined) setSteering(model, null);
  }
}
