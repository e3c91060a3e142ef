// The demo's remaining-time estimate: the plan scales step-driven stages, the pace is the
// measured time of the stages done over their planned time, and the rest is planned × pace.
import { describe, expect, it } from 'vitest';
import { formatRemaining, REFERENCE_SETTINGS, REFERENCE_STAGE_SECONDS, remainingSeconds, stagePlan } from '../../../lib/demo/eta.js';
import { stageTimer } from '../../../lib/demo/stage_timer.js';
import { DEMO_DEFAULTS } from '../../../lib/demo/demo_config.js';

const total = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);

describe('stagePlan', () => {
  it('is the reference at the reference settings, and scales each stage with the settings that drive it', () => {
    expect(stagePlan({ ...REFERENCE_SETTINGS, labels: 'sae' })).toEqual(REFERENCE_STAGE_SECONDS);
    const r = REFERENCE_SETTINGS;
    const plan = stagePlan({ ...r, labellerSteps: r.labellerSteps / 2, labellerBatch: r.labellerBatch / 2, steps: r.steps * 2, labelDocuments: r.labelDocuments * 3, labels: 'sae' });
    expect(plan.labeller_lm).toBeCloseTo(REFERENCE_STAGE_SECONDS.labeller_lm / 4, 12);
    expect(plan.train_remove).toBeCloseTo(REFERENCE_STAGE_SECONDS.train_remove * 2, 12);
    expect(plan.sae_labels).toBeCloseTo(REFERENCE_STAGE_SECONDS.sae_labels * 3, 12);
    expect(plan.sae).toBe(REFERENCE_STAGE_SECONDS.sae);
    expect(plan.scoring).toBe(REFERENCE_STAGE_SECONDS.scoring);
  });

  it('scales the model stages with layers × width²', () => {
    const r = REFERENCE_SETTINGS;
    const plan = stagePlan({ ...r, labellerLayers: r.labellerLayers * 3, labellerDim: r.labellerDim / 2, bilmLayers: r.bilmLayers / 2, bilmDim: r.bilmDim * 2, labels: 'sae' });
    expect(plan.labeller_lm).toBeCloseTo((REFERENCE_STAGE_SECONDS.labeller_lm * 3) / 4, 12);
    expect(plan.classifier).toBeCloseTo(REFERENCE_STAGE_SECONDS.classifier * 2, 12);
    expect(plan.scoring).toBeCloseTo(REFERENCE_STAGE_SECONDS.scoring * 2, 12);
    expect(plan.train_baseline).toBe(REFERENCE_STAGE_SECONDS.train_baseline);
  });

  it('was measured at the demo\'s defaults', () => {
    expect(stagePlan({ ...DEMO_DEFAULTS, labels: 'sae' })).toEqual(REFERENCE_STAGE_SECONDS);
  });

  it('leaves out the SAE chain with gold labels', () => {
    const plan = stagePlan({ ...REFERENCE_SETTINGS, labels: 'gold' });
    expect(Object.keys(plan)).toEqual(['tokenizer', 'shards', 'train_baseline', 'train_document', 'train_mask', 'train_remove']);
  });
});

describe('remainingSeconds', () => {
  const plan = { a: 10, b: 30, c: 60 };

  it('scales the stages left by the pace of the stages done', () => {
    // a took twice its planned time: the rest (90 planned) takes 180
    expect(remainingSeconds(plan, { a: 20 })).toBeCloseTo(180, 12);
    // a and b took 20 + 20 = 40 for 40 planned: pace 1
    expect(remainingSeconds(plan, { a: 20, b: 20 })).toBeCloseTo(60, 12);
  });

  it('on the reference machine predicts the reference total', () => {
    const ref = stagePlan({ ...REFERENCE_SETTINGS, labels: 'sae' });
    expect(remainingSeconds(ref, { tokenizer: ref.tokenizer })! + ref.tokenizer).toBeCloseTo(total(ref), 9);
  });

  it('is null before any planned stage is done, and when none is left', () => {
    expect(remainingSeconds(plan, {})).toBeNull();
    expect(remainingSeconds(plan, { other: 5 })).toBeNull();
    expect(remainingSeconds(plan, { a: 1, b: 1, c: 1 })).toBeNull();
  });
});

describe('formatRemaining', () => {
  it('says seconds below 2 min, minutes with a decimal below 10 min, whole minutes after', () => {
    expect(formatRemaining(0.2)).toBe('about 1 s left');
    expect(formatRemaining(95.4)).toBe('about 95 s left');
    expect(formatRemaining(210)).toBe('about 3.5 min left');
    expect(formatRemaining(1500)).toBe('about 25 min left');
  });
});

describe('stageTimer', () => {
  it('records wall and CPU seconds per lap and tells the listener', () => {
    const heard: [string, number, number][] = [];
    const { stages, cpu, lap } = stageTimer((name, seconds, cpuSeconds) => heard.push([name, seconds, cpuSeconds]));
    let x = 0;
    for (let i = 0; i < 2e6; i++) x += Math.sqrt(i);
    expect(x).toBeGreaterThan(0);
    expect(lap('work')).toMatch(/^\d+\.\d s, CPU \d+\.\d s$/);
    expect(stages.work).toBeGreaterThan(0);
    expect(cpu.work).toBeGreaterThan(0);
    expect(heard).toEqual([['work', stages.work, cpu.work]]);
  });
});
