/**
 * Residual-stream activations of a {@link Transformer} over token streams and shards, in
 * blocks, for SAE training and labelling; optionally written to `.npy` (float32 or float16)
 * for use elsewhere.
 *
 * Every position of the input gets exactly one activation row. Windows of `context` tokens
 * overlap by `overlap` tokens, and a window's first `overlap` rows are dropped (except at the
 * start of the stream), so each kept row saw at least `overlap` tokens of left context (or all
 * of it, near the start). Windows may span `<|endoftext|>`; the labelling rule never
 * propagates across it.
 * @module
 */
import { writeAtomically } from '../data/atomic_file.js';
import { extname } from 'node:path';
import { decodeFloat16 } from '../data/float16.js';
import { encodeFloat16 } from '../data/float16.js';
import { readSafetensors } from '../model/safetensors.js';
import { readNpy } from './npz.js';
import { readShard } from '../data/shard.js';
import type { TokenizerContract } from '../data/tokenizer_contract.js';
import type { Transformer } from '../model/transformer.js';
import { TokenfilterError, CodedRangeError } from '../errors.js';

/** Options of {@link tokenActivations}. */
export interface ActivationOptions {
  /** Residual stream to read: 0 = embeddings, l = after block l (see Transformer.hiddenStates). */
  layer: number;
  /** Window length T (default: the model's context). */
  context?: number;
  /** Windows per forward pass (default 8). */
  batch?: number;
  /** Left-context tokens shared by consecutive windows (default T/4, < T). */
  overlap?: number;
}

/** A block of activation rows for the positions [start, start + count). */
export interface ActivationBlock {
  start: number;
  count: number;
  /** [count, dModel] */
  activations: Float32Array;
}

/**
 * Yields activation blocks covering every position of `tokens` once, in order.
 * @throws RangeError for a bad layer, context, batch or overlap; as Transformer.hiddenStates.
 */
export async function* tokenActivations(model: Transformer, tokens: Uint32Array, options: ActivationOptions): AsyncGenerator<ActivationBlock> {
  const D = model.config.dModel;
  const T = options.context ?? model.config.context;
  const B = options.batch ?? 8;
  const overlap = options.overlap ?? Math.floor(T / 4);
  if (!Number.isInteger(options.layer) || options.layer < 0 || options.layer > model.config.layers + 1)
    throw new CodedRangeError(`layer must be an integer in [0, ${model.config.layers + 1}], got ${options.layer}`);
  if (!Number.isInteger(T) || T < 1 || T > model.config.context) throw new CodedRangeError(`context must be an integer in [1, ${model.config.context}], got ${T}`);
  if (!Number.isInteger(B) || B < 1) throw new CodedRangeError(`batch must be a positive integer, got ${B}`);
  if (!Number.isInteger(overlap) || overlap < 0 || overlap >= T) throw new CodedRangeError(`overlap must be an integer in [0, ${T}), got ${overlap}`);
  const n = tokens.length;
  if (n === 0) return;
  if (n <= T) {
    const h = await model.hiddenStates(tokens, options.layer, { batch: 1, context: n });
    yield { start: 0, count: n, activations: h };
    return;
  }
  const stride = T - overlap;
  const chunks = Math.ceil(n / stride);
  for (let c0 = 0; c0 < chunks; c0 += B) {
    const rows = Math.min(B, chunks - c0);
    const input = new Uint32Array(rows * T);
    const windows: { ws: number; from: number; to: number }[] = [];
    for (let r = 0; r < rows; r++) {
      const from = (c0 + r) * stride;
      const to = Math.min(n, from + stride);
      const ws = Math.min(Math.max(0, from - overlap), n - T);
      input.set(tokens.subarray(ws, ws + T), r * T);
      windows.push({ ws, from, to });
    }
    const h = await model.hiddenStates(input, options.layer, { batch: rows, context: T });
    const start = windows[0].from;
    const count = windows[rows - 1].to - start;
    const out = new Float32Array(count * D);
    windows.forEach(({ ws, from, to }, r) => {
      const offset = r * T + (from - ws);
      out.set(h.subarray(offset * D, (offset + to - from) * D), (from - start) * D);
    });
    yield { start, count, activations: out };
  }
}

/** Activation blocks of one shard, with its tokens (see {@link tokenActivations}). */
export async function* shardActivations(
  model: Transformer,
  shardPath: string,
  options: ActivationOptions & { expectTokenizer?: TokenizerContract },
): AsyncGenerator<ActivationBlock & { tokens: Uint32Array }> {
  const shard = readShard(shardPath, { expectTokenizer: options.expectTokenizer });
  const tokens = shard.tokens instanceof Uint32Array ? shard.tokens : Uint32Array.from(shard.tokens);
  for await (const block of tokenActivations(model, tokens, options)) yield { ...block, tokens: tokens.subarray(block.start, block.start + block.count) };
}

/**
 * Writes activation blocks to a `.npy` file of shape [rows, dModel] in float32 or float16,
 * streaming (the header is fixed up at the end) and atomically (temporary file + rename).
 * @returns the number of rows written.
 */
export async function writeActivationsNpy(
  path: string,
  blocks: AsyncIterable<{ activations: Float32Array }>,
  dModel: number,
  dtype: 'float32' | 'float16' = 'float32',
): Promise<number> {
  const HEADER = 128;
  return writeAtomically(path, async (file) => {
    let rows = 0;
    await file.write(new Uint8Array(HEADER));
    for await (const { activations } of blocks) {
      if (activations.length % dModel !== 0) throw new CodedRangeError(`an activation block of length ${activations.length} is not a multiple of dModel = ${dModel}`);
      const body = dtype === 'float16' ? encodeFloat16(activations) : activations;
      await file.write(new Uint8Array(body.buffer, body.byteOffset, body.byteLength));
      rows += activations.length / dModel;
    }
    let header = `{'descr': '${dtype === 'float16' ? '<f2' : '<f4'}', 'fortran_order': False, 'shape': (${rows}, ${dModel}), }`;
    header = header.padEnd(HEADER - 10 - 1, ' ') + '\n';
    const head = new Uint8Array(HEADER);
    head.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
    new DataView(head.buffer).setUint16(8, header.length, true);
    head.set(new TextEncoder().encode(header), 10);
    await file.write(head, 0);
    return rows;
  });
}

/**
 * Reads activations computed elsewhere (e.g. a big model in PyTorch) for one shard: a `.npy`
 * (float32, float16 or float64) or a safetensors file whose tensor is named `activations` (or
 * its only tensor; F32, F16, BF16 or F64), of shape [tokens, dModel].
 * @throws TokenfilterError naming the file: E_FILE_FORMAT for another shape, dtype or a missing tensor, E_NOT_FINITE for a non-finite value.
 */
export async function readActivations(path: string, tokens: number, dModel: number): Promise<Float32Array> {
  let shape: number[];
  let data: Float32Array;
  if (extname(path) === '.npy') {
    const a = await readNpy(path);
    shape = a.shape;
    if (a.data instanceof Float32Array) data = a.data;
    else if (a.data instanceof Float64Array) data = Float32Array.from(a.data);
    else throw new TokenfilterError('E_FILE_FORMAT', `${path}: activations must be float32, float16 or float64, got ${a.dtype}`, { path });
  } else {
    const file = await readSafetensors(path);
    const t = file.tensors.get('activations') ?? (file.tensors.size === 1 ? [...file.tensors.values()][0] : undefined);
    if (!t) throw new TokenfilterError('E_FILE_FORMAT', `${path}: no tensor named 'activations' (and more than one tensor in the file)`, { path });
    shape = t.shape;
    if (t.dtype === 'F32') data = t.data as Float32Array;
    else if (t.dtype === 'F64') data = Float32Array.from(t.data as Float64Array);
    else if (t.dtype === 'F16') data = decodeFloat16(t.data as Uint16Array);
    else if (t.dtype === 'BF16') data = new Float32Array(Uint32Array.from(t.data as Uint16Array, (b) => b << 16).buffer);
    else throw new TokenfilterError('E_FILE_FORMAT', `${path}: activations must be a float tensor, got ${t.dtype}`, { path });
  }
  if (shape.length !== 2 || shape[0] !== tokens || shape[1] !== dModel)
    throw new TokenfilterError('E_FILE_FORMAT', `${path}: activations have shape [${shape.join(', ')}], expected [${tokens}, ${dModel}] (one row per shard token)`, { path });
  const bad = data.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new TokenfilterError('E_NOT_FINITE', `${path}: activation ${bad} (token ${Math.floor(bad / dModel)}) is not finite`, { path });
  return data;
}
