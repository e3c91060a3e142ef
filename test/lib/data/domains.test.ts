import { describe, expect, it } from 'vitest';
import { DOMAINS, FORGET_DOMAIN, FORGET_FIRST, FORGET_LABEL, UNLABELLED } from '../../../lib/data/domains.js';
import { UNLABELLED as FROM_CLASSIFY } from '../../../lib/classify/labels.js';

describe('the domain list', () => {
  it('labels are indices into DOMAINS; medical is the forget label 1', () => {
    expect(DOMAINS).toEqual(['general', 'medical', 'biology']);
    expect(FORGET_DOMAIN).toBe('medical');
    expect(FORGET_LABEL).toBe(1);
    expect(DOMAINS[FORGET_LABEL]).toBe(FORGET_DOMAIN);
  });

  it('FORGET_FIRST is a permutation of DOMAINS that starts with the forget domain', () => {
    expect([...FORGET_FIRST].sort()).toEqual([...DOMAINS].sort());
    expect(FORGET_FIRST[0]).toBe(FORGET_DOMAIN);
  });

  it('"no label" is one value under one name, outside the domain labels', () => {
    expect(UNLABELLED).toBe(255);
    expect(FROM_CLASSIFY).toBe(UNLABELLED);
    expect(UNLABELLED).toBeGreaterThanOrEqual(DOMAINS.length);
  });
});
