/**
 * Document scores for the experiment's document filter. The paper drops documents by a
 * document classifier; `train-classifier` saves one beside the token classifier
 * (`<name>.document.safetensors`). Scoring every training document reads the biLM once more over
 * the stream, so the scores are cached in the experiment folder (`scores/documents.json`) and
 * reused while the stream is unchanged.
 * @module
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../data/atomic_file.js';
import { DocumentClassifier } from '../classify/document_classifier.js';
import { TokenfilterError } from '../errors.js';
import { documentEnds } from '../filter/filter_tokens.js';

/** How a document's score is made: the document classifier, or the mean of its token scores. */
export type DocumentScorer = 'classifier' | 'mean';

/** `clf.safetensors` → `clf.document.safetensors` (where `train-classifier` writes the document classifier). */
export function documentClassifierPathFor(tokenClassifier: string): string {
  return tokenClassifier.replace(/(\.safetensors)?$/, '.document.safetensors');
}

/**
 * One score per document of `tokens` (documents end at `eotId`; a trailing piece without one is
 * a document too), by the document classifier at `classifierPath`. Cached at `cachePath` with the
 * stream's length and document count; a cache for another stream is recomputed.
 * @throws TokenfilterError E_IO when the classifier file is missing, E_TOKENIZER_MISMATCH when its
 *   biLM's tokenizer differs from the stream's (`tokenizerHash`).
 */
export async function documentClassifierScores(options: {
  classifierPath: string;
  tokens: Uint32Array;
  eotId: number;
  tokenizerHash: string;
  cachePath: string;
  onLog?: (line: string) => void;
  signal?: AbortSignal;
}): Promise<Float32Array> {
  const { tokens, eotId, cachePath } = options;
  const ends = documentEnds(tokens, eotId);
  if (existsSync(cachePath)) {
    const cached = JSON.parse(await readFile(cachePath, 'utf8')) as { tokens: number; classifier: string; scores: number[] };
    if (cached.tokens === tokens.length && cached.classifier === options.classifierPath && cached.scores.length === ends.length) return Float32Array.from(cached.scores);
  }
  if (!existsSync(options.classifierPath))
    throw new TokenfilterError('E_IO', `no document classifier at ${options.classifierPath} (train-classifier writes it beside the token classifier; or use --document-scores mean)`, { path: options.classifierPath });
  const classifier = await DocumentClassifier.load(options.classifierPath);
  if (classifier.bilm.tokenizer.hash !== options.tokenizerHash)
    throw new TokenfilterError('E_TOKENIZER_MISMATCH', `the document classifier's tokenizer differs from the training stream's`, { path: options.classifierPath });
  const scores = new Float32Array(ends.length);
  const chunk = 256;
  for (let first = 0; first < ends.length; first += chunk) {
    const docs: Uint32Array[] = [];
    for (let d = first; d < Math.min(ends.length, first + chunk); d++) {
      const start = d === 0 ? 0 : ends[d - 1];
      let end = ends[d];
      if (end > start && tokens[end - 1] === eotId) end--;
      docs.push(tokens.subarray(start, end));
    }
    scores.set(await classifier.scoreDocuments(docs, { signal: options.signal }), first);
    options.onLog?.(`document scores: ${Math.min(ends.length, first + chunk)} of ${ends.length} documents`);
  }
  await writeFileAtomic(cachePath, JSON.stringify({ tokens: tokens.length, classifier: options.classifierPath, scores: Array.from(scores) }));
  return scores;
}
