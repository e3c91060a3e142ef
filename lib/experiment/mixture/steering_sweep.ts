/**
 * Steering a model away from the forget domain and what it costs: ITI on the top-K heads by probe
 * accuracy (each head's output shifted by −α × its projected std along its class-mean direction, away
 * from medicine) swept over K and α, and residual-stream steering (the component along a layer's
 * class-mean direction removed) per layer. Each point is the held-out loss per domain under steering
 * and its rise over the unsteered model. *Alignability* is the medical loss rise reachable at a
 * fixed general-loss cost (e.g. +0.05 nats), read off the ITI trade-off curves.
 * @module
 */
import { throwIfAborted } from '../../abort.js';
import { domainLosses, type LabelledTokens } from '../../eval/domain_loss.js';
import type { Transformer } from '../../model/transformer.js';
import { itiVector, setSteering, type Steering } from '../../steer/steering.js';
import type { Separability } from './separability.js';
import { DOMAINS } from '../../data/domains.js';

/** Loss per domain (nats per token). */
export type DomainLossTable = Record<string, number>;

/** One steered evaluation. */
export interface SteeringPoint {
  method: 'iti' | 'residual';
  /** ITI: heads steered and the strength. */
  k?: number;
  alpha?: number;
  /** Residual: the hidden-state layer. */
  layer?: number;
  loss: DomainLossTable;
  /** loss − the unsteered loss, per domain. */
  rise: DomainLossTable;
}

/** Options of {@link steeringSweep}. */
export interface SteeringSweepOptions {
  /** Heads steered (top-K by probe accuracy). */
  ks: readonly number[];
  /** Strengths (multiples of each head's projected std). */
  alphas: readonly number[];
  /** Residual steering too, at every hidden-state layer (default true). */
  residual?: boolean;
  /** Windows of the held-out stream scored per point (default: all). */
  maxWindows?: number;
  signal?: AbortSignal;
}

/** The ITI steering of the top `k` heads at strength `alpha`. */
export function itiSteering(separability: Separability, k: number, alpha: number): Steering {
  const top = [...separability.heads].sort((a, b) => b.accuracy - a.accuracy || b.auroc - a.auroc).slice(0, k);
  return { heads: top.map((h) => ({ layer: h.layer, head: h.head, vector: itiVector(h.meanDirection, h.std, -alpha) })) };
}

async function lossTable(model: Transformer, val: LabelledTokens, maxWindows?: number): Promise<DomainLossTable> {
  const losses = await domainLosses(model, val, { labelNames: [...DOMAINS], bootstrap: 0, maxWindows });
  return Object.fromEntries(Object.entries(losses).map(([k, v]) => [k, v.loss]));
}

async function steeredPoint(model: Transformer, val: LabelledTokens, steering: Steering, base: DomainLossTable, maxWindows?: number) {
  setSteering(model, steering);
  try {
    const loss = await lossTable(model, val, maxWindows);
    return { loss, rise: Object.fromEntries(Object.entries(loss).map(([k, v]) => [k, v - base[k]])) };
  } finally {
    setSteering(model, null);
  }
}

/** Unsteered losses and every steered point. */
export async function steeringSweep(
  model: Transformer, val: LabelledTokens, separability: Separability, options: SteeringSweepOptions,
): Promise<{ base: DomainLossTable; points: SteeringPoint[] }> {
  const base = await lossTable(model, val, options.maxWindows);
  const points: SteeringPoint[] = [];
  const heads = separability.heads.length;
  for (const k of options.ks.filter((k) => k <= heads))
    for (const alpha of options.alphas) {
      throwIfAborted(options.signal, 'steering sweep');
      points.push({ method: 'iti', k, alpha, ...(await steeredPoint(model, val, itiSteering(separability, k, alpha), base, options.maxWindows)) });
    }
  if (options.residual ?? true)
    // residual layers 0 … L (the final norm's output, layer L + 1, is not a residual stream)
    for (const [layer, probe] of separability.layers.slice(0, model.config.layers + 1).entries()) {
      throwIfAborted(options.signal, 'steering sweep');
      const steering: Steering = { residual: [{ layer, direction: probe.meanDirection, keep: 0 }] };
      points.push({ method: 'residual', layer, ...(await steeredPoint(model, val, steering, base, options.maxWindows)) });
    }
  return { base, points };
}

/** The medical rise reachable at a general-loss cost, and where. */
export interface Alignability {
  /** Medical loss rise at a general-loss rise of `cost` (interpolated along α). */
  medicalRise: number;
  /** K of the curve that reached it. */
  k: number;
  /** α at that point (interpolated). */
  alpha: number;
  /** False when no curve reached the cost: the best medical rise below it is given instead. */
  reached: boolean;
}

/**
 * Reads alignability off the ITI points: for each K, walk α upwards along the (general rise,
 * medical rise) curve and interpolate linearly where the general rise first reaches `cost`; the
 * best K wins. Curves that never reach it contribute their largest medical rise at a general rise
 * below `cost` (reached = false unless some curve reached it).
 */
export function alignability(points: readonly SteeringPoint[], cost: number, costDomain = 'general', target = 'medical'): Alignability {
  let best: Alignability = { medicalRise: 0, k: 0, alpha: 0, reached: false };
  const ks = [...new Set(points.filter((p) => p.method === 'iti').map((p) => p.k!))];
  for (const k of ks) {
    const curve = points.filter((p) => p.method === 'iti' && p.k === k).sort((a, b) => a.alpha! - b.alpha!);
    let prev: SteeringPoint | null = null;
    for (const p of curve) {
      const c = p.rise[costDomain];
      if (c >= cost) {
        let rise = p.rise[target];
        let alpha = p.alpha!;
        if (prev && prev.rise[costDomain] < cost) {
          const f = (cost - prev.rise[costDomain]) / (c - prev.rise[costDomain]);
          rise = prev.rise[target] + f * (p.rise[target] - prev.rise[target]);
          alpha = prev.alpha! + f * (p.alpha! - prev.alpha!);
        }
        if (!best.reached || rise > best.medicalRise) best = { medicalRise: rise, k, alpha, reached: true };
        break;
      }
      if (!best.reached && p.rise[target] > best.medicalRise) best = { medicalRise: p.rise[target], k, alpha: p.alpha!, reached: false };
      prev = p;
    }
  }
  return best;
}
