import { describe, expect, it } from 'vitest';
import type { AttackRecord } from '../../../lib/experiment/attack_stage.js';
import { attackTables, scoresLine } from '../../../lib/experiment/experiment_tables.js';

function attack(model: string, lr: number, sweep: [number, number | null, boolean][]): AttackRecord {
  return {
    model, targetLoss: 6, startLoss: 6.4, finalLoss: 5.9, reached: true, tokensToTarget: 1000, fractionOfPretraining: 0.01, lr, batchTokens: 256, budgetTokens: 4096,
    sweep: sweep.map(([r, tokens, diverged]) => ({ lr: r, diverged, reached: tokens !== null, tokensToTarget: tokens, finalLoss: diverged ? null : tokens === null ? 6.2 : 5.99 })),
    curve: [{ tokens: 0, loss: 6.4 }],
  };
}

describe('attackTables', () => {
  it('says which rate won each attack, lists every rate of each sweep, and names the attacks won at the top of the grid', () => {
    const attacks = {
      mask: attack('mask-1x64-s1', 0.01, [[0.001, null, false], [0.003, 2048, false], [0.01, 1024, false]]),
      rmu: attack('rmu', 0.003, [[0.001, null, false], [0.003, 512, false], [0.01, null, true]]),
    };
    const text = attackTables({ extra: { attacks } });
    expect(text).toMatch(/model\s+won lr/);
    expect(text).toMatch(/mask-1x64-s1\s+0\.01\s/);
    expect(text).toMatch(/rmu\s+0\.003\s/);
    const sweepRows = text.split('\n').filter((l) => /^(mask|rmu)/.test(l)).slice(2);
    expect(sweepRows[0]).toMatch(/^mask-1x64-s1\s+loss 6\.200\s+2048 tok\s+1024 tok \*$/);
    expect(sweepRows[1]).toMatch(/^rmu\s+loss 6\.200\s+512 tok \*\s+diverged$/);
    expect(text).toContain('Won at the highest rate tried (a higher one might recover faster): mask-1x64-s1');
    expect(attackTables({ extra: { attacks: { rmu: attacks.rmu } } })).toContain('Every attack won below the highest rate tried.');
    expect(attackTables({ extra: {} })).toBe('');
  });
});

describe('scoresLine', () => {
  it('names the domain oracle, or the classifier with its F1 per validation kind and the ladder threshold when it differs', () => {
    expect(scoresLine({ classifier: null, threshold: 0.5 })).toMatch(/documents' own domains/);
    const classifier = { path: 'c.safetensors', threshold: 0.42, layer: 2, validation: [{ name: 'paragraph', precision: 0.9, recall: 0.8, f1: 0.847 }, { name: 'sentence', precision: 0.7, recall: 0.6, f1: 0.646 }] };
    expect(scoresLine({ classifier, threshold: 0.3 })).toBe(
      'Scores: token classifier c.safetensors (layer 2, threshold 0.420; the ladder flags at 0.300); validation F1 at its threshold: paragraph 0.847 (P 0.900, R 0.800), sentence 0.646 (P 0.700, R 0.600)');
    expect(scoresLine({ classifier: { ...classifier, validation: [] }, threshold: 0.42 })).toBe('Scores: token classifier c.safetensors (layer 2, threshold 0.420); the classifier file records no validation F1');
  });
});
