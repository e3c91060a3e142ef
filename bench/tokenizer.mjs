// Tokenizer throughput: our byte-level BPE (trained here on a sample of the same corpus, or
// loaded with --tokenizer) against js-tiktoken's cl100k_base, on the first --mb MB of text.
//
//   npm run bench -- tokenizer [--file F.jsonl[.gz]] [--field text] [--mb 20] [--vocab 32768]
//                              [--train-mb 10] [--tokenizer tokenizer.json]
//
// The training sample is the --train-mb MB of documents that follow the encoded ones (so the
// timed text is not the training text), falling back to the encoded text for a short file.
// mb_per_s and mb_per_s_single start with empty word caches; mb_per_s_warm reuses the caches
// earlier calls left, as when a large corpus is fed in chunks. js-tiktoken runs once, on one
// thread (it is synchronous JavaScript). *_cpu_s figures divide by process CPU time instead of
// wall time: steadier on a shared machine (load_average is recorded). Before timing, results are validated: encodeBatch equals encode, and our native cl100k gives
// exactly js-tiktoken's ids on the whole text. Prints one JSON line; MB = 10^6 UTF-8 bytes.
import { createReadStream, existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { getEncoding } from 'js-tiktoken';
import { Tokenizer } from '../dist/data/tokenizer.js';
import { backendInfo, setThreads } from '../dist/native.js';

const DEFAULT_FILE = '../shared/data/corpus/general.train.jsonl.gz';

async function readDocs(file, field, encodeBytes, trainBytes) {
  let input = createReadStream(file);
  if (file.endsWith('.gz')) input = input.pipe(createGunzip());
  const encode = [];
  const train = [];
  let bytes = 0;
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    if (!line.trim()) continue;
    const text = JSON.parse(line)[field];
    if (typeof text !== 'string') continue;
    const size = Buffer.byteLength(text);
    if (bytes < encodeBytes) encode.push(text);
    else if (bytes < encodeBytes + trainBytes) train.push(text);
    else break;
    bytes += size;
  }
  return { encode, train };
}

const byteLength = (texts) => texts.reduce((n, t) => n + Buffer.byteLength(t), 0);
const count = (arrays) => arrays.reduce((n, a) => n + a.length, 0);

/** Wall seconds and process CPU seconds (all threads) of fn. */
async function timed(fn) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await fn();
  const c = process.cpuUsage(c0);
  return { result, seconds: (performance.now() - t0) / 1000, cpuSeconds: (c.user + c.system) / 1e6 };
}

/**
 * MB/s of encodeBatch: on one thread and on all threads, each starting with empty word caches
 * (cold, as the first chunk of a corpus), then on all threads with the caches the previous
 * calls left (warm, as later chunks of a large corpus; best of `repeats`).
 */
async function throughput(tokenizer, texts, mb, repeats) {
  const threads = backendInfo().threads;
  tokenizer.clearCaches();
  setThreads(1);
  let single;
  try {
    single = await timed(() => tokenizer.encodeBatch(texts));
  } finally {
    setThreads(threads);
  }
  tokenizer.clearCaches();
  const cold = await timed(() => tokenizer.encodeBatch(texts));
  let warm = Infinity;
  for (let r = 0; r < repeats; r++) warm = Math.min(warm, (await timed(() => tokenizer.encodeBatch(texts))).seconds);
  return {
    mbPerS: mb / cold.seconds,
    mbPerSSingle: mb / single.seconds,
    mbPerCpuSSingle: mb / single.cpuSeconds,
    mbPerSWarm: mb / warm,
    ids: cold.result,
  };
}

export async function run(options = {}) {
  const file = options.file ?? DEFAULT_FILE;
  const field = options.field ?? 'text';
  const mbTarget = options.mb ?? 20;
  const vocab = options.vocab ?? 32768;
  const trainMb = options['train-mb'] ?? 10;
  const repeats = options.repeats ?? 2;
  if (!existsSync(file)) {
    console.log(JSON.stringify({ bench: 'tokenizer', skipped: `no such file ${file} (pass --file F.jsonl[.gz])` }));
    return;
  }
  const { encode: texts, train } = await readDocs(file, field, mbTarget * 1e6, trainMb * 1e6);
  const mb = byteLength(texts) / 1e6;

  let tokenizer;
  let trainSeconds = null;
  const sample = train.length ? train : texts;
  if (options.tokenizer) {
    tokenizer = await Tokenizer.load(options.tokenizer);
  } else {
    const t = await timed(() => Tokenizer.train(sample, { vocabSize: vocab, maxChars: Number.MAX_SAFE_INTEGER }));
    tokenizer = t.result;
    trainSeconds = t.seconds;
  }

  // Validate before timing.
  const check = texts.slice(0, 200);
  const checkBatch = await tokenizer.encodeBatch(check);
  check.forEach((t, i) => {
    if (checkBatch[i].join() !== tokenizer.encode(t).join()) throw new Error(`encodeBatch differs from encode on document ${i}`);
  });

  const ours = await throughput(tokenizer, texts, mb, repeats);
  const cl100k = Tokenizer.cl100k();
  const native = await throughput(cl100k, texts, mb, repeats);

  const tiktoken = getEncoding('cl100k_base');
  const tk = await timed(() => texts.map((t) => tiktoken.encode(t, [], [])));
  let identical = true;
  tk.result.forEach((ids, i) => {
    if (identical && ids.join() !== native.ids[i].join()) identical = false;
  });
  if (!identical) throw new Error('native cl100k differs from js-tiktoken: refusing to report its speed');

  const tiktokenMbPerS = mb / tk.seconds;
  const info = backendInfo();
  const record = {
    bench: 'tokenizer',
    metric: 'encode_throughput',
    value: ours.mbPerS,
    unit: 'MB/s',
    mb_per_s: ours.mbPerS,
    mb_per_s_single: ours.mbPerSSingle,
    mb_per_s_warm: ours.mbPerSWarm,
    mb_per_cpu_s_single: ours.mbPerCpuSSingle,
    tiktoken_mb_per_cpu_s: mb / tk.cpuSeconds,
    ratio_cpu: ours.mbPerCpuSSingle / (mb / tk.cpuSeconds),
    tiktoken_mb_per_s: tiktokenMbPerS,
    ratio: ours.mbPerS / tiktokenMbPerS,
    ratio_single: ours.mbPerSSingle / tiktokenMbPerS,
    cl100k_native_mb_per_s: native.mbPerS,
    cl100k_native_mb_per_s_single: native.mbPerSSingle,
    cl100k_native_mb_per_s_warm: native.mbPerSWarm,
    cl100k_identical_to_tiktoken: identical,
    vocab_size: tokenizer.vocabSize,
    cl100k_vocab_size: cl100k.vocabSize,
    tokens_per_byte: count(ours.ids) / (mb * 1e6),
    cl100k_tokens_per_byte: count(native.ids) / (mb * 1e6),
    train_seconds: trainSeconds,
    train_mb: options.tokenizer ? null : byteLength(sample) / 1e6,
    tokenizer: options.tokenizer ?? `trained ${tokenizer.name}`,
    file,
    mb,
    documents: texts.length,
    threads: info.threads,
    load_average: loadavg()[0],
    simd: info.simd,
  };
  console.log(JSON.stringify(record));
}
