/**
 * The experiment's model sizes: a size's short name (`2x128`), its parser, and the training
 * tokens a size gets (tokens per parameter × its non-embedding or total parameters).
 * @module
 */
import { CodedRangeError } from '../errors.js';

/** One model size of the ladder. */
export interface ModelSize {
  layers: number;
  dModel: number;
  heads: number;
}

/** A size's short name, e.g. `2x128`. */
export function sizeName(size: ModelSize): string {
  return `${size.layers}x${size.dModel}`;
}

/** Parses `2x128` or `2x128h4` (layers × width, optional heads; default heads = width / 32). */
export function parseModelSize(text: string): ModelSize {
  const m = /^(\d+)x(\d+)(?:h(\d+))?$/.exec(text.trim());
  if (!m) throw new CodedRangeError(`model size '${text}' is not LAYERSxWIDTH (e.g. 2x128) or LAYERSxWIDTHhHEADS`);
  const layers = Number(m[1]);
  const dModel = Number(m[2]);
  const heads = m[3] ? Number(m[3]) : Math.max(1, Math.round(dModel / 32));
  if (layers < 1 || dModel < 8 || heads < 1 || dModel % heads !== 0 || (dModel / heads) % 2 !== 0)
    throw new CodedRangeError(`model size '${text}': need layers ≥ 1, width ≥ 8 and an even head size (width / heads)`);
  return { layers, dModel, heads };
}

/** Training tokens of a size: tokensPerParameter × non-embedding parameters (12·L·C²), or × all parameters (plus the tied embedding V·C). */
export function trainTokensFor(size: ModelSize, o: { tokensPerParameter: number; parameterBasis: 'non-embedding' | 'total' }, vocab: number): number {
  const nonEmbedding = size.layers * 12 * size.dModel * size.dModel;
  return Math.ceil(o.tokensPerParameter * (nonEmbedding + (o.parameterBasis === 'total' ? vocab * size.dModel : 0)));
}
