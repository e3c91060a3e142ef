// Mutated tokenizer.json documents (bytes and structure): loaded to a tokenizer whose own
// tokenizer.json loads back to the same tokenizer (same hash, same encoding), or refused with a
// coded error.
import { describe, expect, it } from 'vitest';
import { Tokenizer } from '../../lib/data/tokenizer.js';
import type { Sfc32 } from '../../lib/data/random.js';
import { caseCount, caseLabel, caseRng, checkInput, mutate } from './fuzz_kit.js';

const SAMPLE = 'the patient was given aspirin; the dose was 81 mg. The the THE Patient patients.\n';
const PROBE = 'the patient takes 81 mg of aspirin daily, über ✓';

function roundTrip(t: Tokenizer, label: string): void {
  const again = Tokenizer.fromJSON(JSON.stringify(t.toJSON()));
  expect(again.hash, label).toBe(t.hash);
  expect(Array.from(again.encode(PROBE)), label).toEqual(Array.from(t.encode(PROBE)));
}

/** One structural edit of a tokenizer.json: a field replaced, removed, or a list entry changed. */
function editStructure(json: object, rng: Sfc32): { text: string; how: string } {
  const copy = JSON.parse(JSON.stringify(json));
  const how = editCopy(copy, rng);
  return { text: JSON.stringify(copy), how };
}

function editCopy(copy: any, rng: Sfc32): string {
  const values: unknown[] = [null, 0, -1, 2 ** 31, 1.5, '', 'a b', 'Ġ Ġ', [], {}, ['x'], true, 'constructor', '__proto__'];
  const value = () => values[rng.below(values.length)];
  const vocabKeys = Object.keys(copy.model.vocab);
  switch (rng.below(8)) {
    case 0: copy.model.vocab[vocabKeys[rng.below(vocabKeys.length)]] = value(); return 'vocab id';
    case 1: copy.model.vocab[String(value())] = rng.below(400); return 'vocab key';
    case 2: copy.model.merges[rng.below(copy.model.merges.length)] = value(); return 'merge';
    case 3: copy.added_tokens.push({ id: value(), content: value() }); return 'added token';
    case 4: copy.pre_tokenizer = value(); return 'pre_tokenizer';
    case 5: copy.model[['type', 'dropout', 'byte_fallback', 'ignore_merges', 'vocab', 'merges'][rng.below(6)]] = value(); return 'model field';
    case 6: copy.added_tokens[rng.below(copy.added_tokens.length)].id = value(); return 'added id';
    default: delete copy.model.vocab[vocabKeys[rng.below(vocabKeys.length)]]; return 'vocab entry removed';
  }
}

describe('fuzz: tokenizer.json', () => {
  it('loads or refuses (coded) every mutated tokenizer.json', async () => {
    const trained = await Tokenizer.train([SAMPLE.repeat(4)], { vocabSize: 300 });
    const json = trained.toJSON();
    const text = Buffer.from(JSON.stringify(json));
    const outcomes = { parsed: 0, refused: 0 };
    for (let i = 0; i < caseCount(120); i++) {
      const rng = caseRng('tokenizer-json', i);
      let input: string;
      let how: string;
      if (rng.below(2) === 0) {
        const m = mutate(text, rng);
        input = Buffer.from(m.bytes).toString('utf8');
        how = m.how;
      } else ({ text: input, how } = editStructure(json, rng));
      const label = caseLabel('tokenizer-json', i, how);
      outcomes[await checkInput(label, () => Tokenizer.fromJSON(input), (t) => roundTrip(t, label))]++;
    }
    expect(outcomes.refused).toBeGreaterThan(0);
    expect(outcomes.parsed).toBeGreaterThan(0);
  });
});
