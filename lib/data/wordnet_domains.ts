/**
 * Assigns every WordNet synset a domain, `medical` (the forget set), `biology` (retain) or
 * `general`, from WordNet's own structure.
 *
 * Rules, in order:
 * 1. Roots are looked up at load time by lemma and a phrase of their definition
 *    ({@link findSynset} throws if WordNet changed and a root no longer resolves to exactly one
 *    synset), so no offset is trusted blindly.
 * 2. Hypernym closure (`@` and instance `@i`): a synset below a medical root is medical-rooted,
 *    below a biology root biology-rooted. A carve-out cuts a flag on the paths through one synset
 *    (a synset reached by another path keeps it): everything below `person` is not
 *    biology-rooted (organism → person would make every occupation biology), everything below
 *    `plant disease` is biology, not medicine (plant pathology is botany), and `drug of abuse`
 *    and `intoxicant` (alcoholic drinks) are not medicine although they sit below `drug`.
 * 3. Topic domains (`;c`): a synset whose topic domain is medical-rooted (medicine, surgery,
 *    pathology, pharmacology, psychiatry, … all sit below `medical science` or `medicine`) is
 *    medical; one whose topic is biology-rooted (biology, genetics, zoology, botany, …, below
 *    `life science`) is biology. This reaches verbs and adjectives, which have no medical hypernyms.
 * 4. Adjectives with a pertainym (`\`) take the domain of the noun they pertain to.
 * 5. Medicine takes precedence: a synset that is both medical and biology is medical (a disease
 *    of an organ, a drug that is a protein).
 * @module
 */
import { findSynset, type Synset, type WordNet } from './wordnet.js';

import type { Domain } from './domains.js';

export type { Domain };

/** Root lookups: [lemma, phrase of its definition]. */
const MEDICAL_ROOTS: [string, string][] = [
  ['disease', 'an impairment of health'],
  ['symptom', 'any sensation or change in bodily function'],
  ['medicine', 'something that treats or prevents or alleviates'], // drugs
  ['medicine', 'the learned profession'],
  ['medicine', 'the branches of medical science'],
  ['medical science', 'the science of dealing with the maintenance of health'],
  ['medical procedure', 'a procedure employed by medical'],
  ['pathology', 'any deviation from a healthy'],
  ['injury', 'any physical damage to the body'],
  ['therapy', 'the act of caring for someone'],
  ['disorder', 'a physical condition in which there is a disturbance'],
  ['mental disorder', 'a psychological disorder'],
  ['mental illness', 'any disease of the mind'],
  ['drug', 'a substance that is used as a medicine or narcotic'],
  ['ill health', 'a state in which you are unable to function normally'],
  ['medical practitioner', 'someone who practices medicine'],
  ['health professional', ''],
  ['medical instrument', ''],
  ['hospital', 'a medical institution'],
];

const BIOLOGY_ROOTS: [string, string][] = [
  ['organism', 'a living thing that has'],
  ['cell', 'the basic structural and functional unit of all organisms'],
  ['gene', 'a segment of DNA'],
  ['body part', 'any part of an organism'],
  ['protein', 'nitrogenous organic compounds'],
  ['tissue', 'part of an organism consisting of an aggregate of cells'],
  ['life science', 'any of the branches of natural science'],
  ['taxonomic group', 'animal or plant group'],
  ['organic process', 'a process occurring in living organisms'],
  ['body substance', 'the substance of the body'],
];

/** Subtrees excluded from biology (rule 2). */
const NOT_BIOLOGY: [string, string][] = [['person', 'a human being']];
/** Subtrees moved from medicine to biology (rule 2). */
const NOT_MEDICAL: [string, string][] = [['plant disease', 'a disease that affects plants']];
/** Subtrees of `drug` that are not medicine (rule 2): recreational drugs and intoxicants. */
const RECREATIONAL: [string, string][] = [
  ['drug of abuse', ''],
  ['intoxicant', 'a drug that can produce a state of intoxication'],
];

const MEDICAL = 1;
const BIOLOGY = 2;

/** Domain assignment with the resolved roots (for inspection and tests). */
export interface DomainAssignment {
  /** Domain of each synset key. */
  domains: Map<string, Domain>;
  /** Keys of the resolved roots, by role. */
  roots: { medical: string[]; biology: string[]; notBiology: string[]; notMedical: string[]; recreational: string[] };
}

/**
 * Assigns every synset a domain (see the module comment for the rules).
 * @throws Error when a root lemma does not resolve to exactly one synset.
 */
export function assignDomains(wordnet: WordNet): DomainAssignment {
  const resolve = (list: [string, string][]) => list.map(([lemma, phrase]) => findSynset(wordnet, lemma, phrase).key);
  const roots = {
    medical: resolve(MEDICAL_ROOTS),
    biology: resolve(BIOLOGY_ROOTS),
    notBiology: resolve(NOT_BIOLOGY),
    notMedical: resolve(NOT_MEDICAL),
    recreational: resolve(RECREATIONAL),
  };
  // a synset's flags = (flags inherited from its hypernyms, minus the ones cut at it) | its own
  const own = new Map<string, number>();
  const cut = new Map<string, number>();
  const mark = (map: Map<string, number>, keys: string[], flag: number) => keys.forEach((k) => map.set(k, (map.get(k) ?? 0) | flag));
  mark(own, roots.medical, MEDICAL);
  mark(own, roots.biology, BIOLOGY);
  mark(cut, roots.notBiology, BIOLOGY);
  mark(cut, roots.notMedical, MEDICAL);
  mark(own, roots.notMedical, BIOLOGY);
  mark(cut, roots.recreational, MEDICAL);

  // flags of the hypernym closure, memoised; WordNet's hypernym graph is acyclic, the guard
  // only protects against a damaged file
  const closure = new Map<string, number>();
  const visiting = new Set<string>();
  const flagsOf = (key: string): number => {
    const known = closure.get(key);
    if (known !== undefined) return known;
    if (visiting.has(key)) return 0;
    visiting.add(key);
    let inherited = 0;
    const synset = wordnet.synsets.get(key);
    if (synset) for (const p of synset.pointers) if (p.symbol === '@' || p.symbol === '@i') inherited |= flagsOf(p.target);
    const flags = (inherited & ~(cut.get(key) ?? 0)) | (own.get(key) ?? 0);
    visiting.delete(key);
    closure.set(key, flags);
    return flags;
  };
  const rooted = (key: string): Domain => {
    const flags = flagsOf(key);
    return flags & MEDICAL ? 'medical' : flags & BIOLOGY ? 'biology' : 'general';
  };

  const domains = new Map<string, Domain>();
  const byStructure = (synset: Synset): Domain => {
    let medical = false;
    let biology = false;
    const self = rooted(synset.key);
    if (self === 'medical') medical = true;
    else if (self === 'biology') biology = true;
    for (const p of synset.pointers) {
      if (p.symbol !== ';c') continue;
      const topic = rooted(p.target);
      if (topic === 'medical') medical = true;
      else if (topic === 'biology') biology = true;
    }
    return medical ? 'medical' : biology ? 'biology' : 'general';
  };
  for (const synset of wordnet.synsets.values()) domains.set(synset.key, byStructure(synset));
  // rule 4: pertainyms, after every noun has its domain
  for (const synset of wordnet.synsets.values()) {
    if (synset.pos !== 'a' || domains.get(synset.key) !== 'general') continue;
    let best: Domain = 'general';
    for (const p of synset.pointers) {
      if (p.symbol !== '\\') continue;
      const d = domains.get(p.target);
      if (d === 'medical') best = 'medical';
      else if (d === 'biology' && best === 'general') best = 'biology';
    }
    domains.set(synset.key, best);
  }
  return { domains, roots };
}
