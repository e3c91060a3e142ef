// The plot of docs/classifier.md: held-out F1 of both validation kinds against scoring cost.
//   node scripts/classifier_cost_plot.mjs docs/classifier_cost.json docs/classifier_cost.svg
// Input: a JSON array of {label, share, paragraph, sentence}: share = FLOPs per scored token over
// the ladder depth-8 model's pretraining FLOPs per token (scripts/classifier_cost.mjs), paragraph
// and sentence = the held-out F1 of each kind at the blend threshold (the train-classifier log).
// Each setting is a circle (paragraph mixes) above a square (sentence mixes), joined; the dashed
// lines are the targets (F1 0.90, 5% of the depth-8 pretraining FLOPs).
import { readFileSync, writeFileSync } from 'node:fs';

const [input, output] = process.argv.slice(2);
if (!output) throw new Error('usage: classifier_cost_plot.mjs POINTS.json OUT.svg');
const points = JSON.parse(readFileSync(input, 'utf8'));
for (const p of points)
  if (typeof p.label !== 'string' || !(p.share > 0) || !(p.paragraph >= 0 && p.paragraph <= 1) || !(p.sentence >= 0 && p.sentence <= 1))
    throw new Error(`bad point ${JSON.stringify(p)}: needs label, share > 0, paragraph and sentence in [0, 1]`);

const W = 640, H = 400, left = 70, right = 620, top = 30, bottom = 340;
const minExp = -8, maxExp = 0, minF1 = 0.5, maxF1 = 0.95;
const x = (share) => left + ((Math.log10(share) - minExp) / (maxExp - minExp)) * (right - left);
const y = (f1) => bottom - ((Math.max(minF1, f1) - minF1) / (maxF1 - minF1)) * (bottom - top);
const f = (v) => v.toFixed(1);
const out = [
  `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
  `<rect width="${W}" height="${H}" fill="white"/>`,
  `<text x="${W / 2}" y="16" text-anchor="middle" font-size="13">Held-out token F1 vs scoring FLOPs per token (share of ladder depth-8 pretraining)</text>`,
];
for (let e = minExp; e <= maxExp; e++)
  out.push(`<line x1="${f(x(10 ** e))}" y1="${top}" x2="${f(x(10 ** e))}" y2="${bottom}" stroke="#eee"/>`, `<text x="${f(x(10 ** e))}" y="355" text-anchor="middle">1e${e}</text>`);
for (let v = minF1; v <= maxF1 + 1e-9; v += 0.1)
  out.push(`<line x1="${left}" y1="${f(y(v))}" x2="${right}" y2="${f(y(v))}" stroke="#eee"/>`, `<text x="${left - 6}" y="${f(y(v) + 4)}" text-anchor="end">${v.toFixed(1)}</text>`);
out.push(
  `<line x1="${left}" y1="${f(y(0.9))}" x2="${right}" y2="${f(y(0.9))}" stroke="#c00" stroke-dasharray="4 3"/><text x="${right - 4}" y="${f(y(0.9) - 4)}" text-anchor="end" fill="#c00">target F1 0.90</text>`,
  `<line x1="${f(x(0.05))}" y1="${top}" x2="${f(x(0.05))}" y2="${bottom}" stroke="#c00" stroke-dasharray="4 3"/><text x="${f(x(0.05) - 4)}" y="${top + 12}" text-anchor="end" fill="#c00">5% budget</text>`,
  `<rect x="${left}" y="${top}" width="${right - left}" height="${bottom - top}" fill="none" stroke="#444"/>`,
  `<text x="${(left + right) / 2}" y="375" text-anchor="middle">FLOPs per scored token / pretraining FLOPs per token of ladder depth 8 (600-token documents, log scale)</text>`,
  `<text x="16" y="${(top + bottom) / 2}" text-anchor="middle" transform="rotate(-90 16 ${(top + bottom) / 2})">F1 at the blend threshold</text>`,
);
// labels of points at the same cost alternate above and below, so they do not overlap
const seen = new Map();
for (const p of points) {
  const px = x(p.share), pp = y(p.paragraph), ps = y(p.sentence);
  const key = Math.round(px / 20);
  const n = seen.get(key) ?? 0;
  seen.set(key, n + 1);
  out.push(
    `<circle cx="${f(px)}" cy="${f(pp)}" r="4" fill="#1f77b4"/>`,
    `<rect x="${f(px - 4)}" y="${f(ps - 4)}" width="8" height="8" fill="#ff7f0e"/>`,
    `<line x1="${f(px)}" y1="${f(pp)}" x2="${f(px)}" y2="${f(ps)}" stroke="#bbb"/>`,
    `<text x="${f(px + 6)}" y="${f(pp - 8 + 12 * n)}">${p.label}</text>`,
  );
}
out.push(
  `<circle cx="84" cy="388" r="4" fill="#1f77b4"/><text x="92" y="392">paragraph mixes (held out)</text>`,
  `<rect x="280" y="384" width="8" height="8" fill="#ff7f0e"/><text x="292" y="392">sentence mixes (held out)</text>`,
  '</svg>',
);
writeFileSync(output, out.join('\n') + '\n');
