// Diagnostic for docs/results.md: held-out loss of experiment models split by domain and by
// whether the token classifier flags the target token, to tell the cost of a filter's false
// positives (flagged retain tokens) from its cost on everything else. Run after `tokenfilter
// experiment` (OUT = its --out folder):
//   node scripts/flagged_loss.mjs CLASSIFIER.safetensors OUT/data/val.bin THRESHOLD OUT/models/<run>.safetensors...
// Prints one line per model: mean loss and token count per domain/flag group.
import { TokenClassifier } from '../dist/classify/token_classifier.js';
import { readShard } from '../dist/data/shard.js';
import { SideFileKind, readSideFile, sideFilePathFor } from '../dist/data/side_file.js';
import { Transformer } from '../dist/model/transformer.js';
import { DOMAINS } from '../dist/data/domains.js';

const [classifierPath, valPath, thresholdText, ...models] = process.argv.slice(2);
if (!classifierPath || !valPath || !(Number(thresholdText) >= 0) || models.length === 0) {
  process.stderr.write('usage: node scripts/flagged_loss.mjs CLASSIFIER VAL.bin THRESHOLD MODEL...\n');
  process.exit(2);
}
const threshold = Number(thresholdText);
const classifier = await TokenClassifier.load(classifierPath);
const tokens = Uint32Array.from(readShard(valPath).tokens);
const labels = readSideFile(sideFilePathFor(valPath, SideFileKind.Labels), { expectKind: SideFileKind.Labels, expectTokens: tokens.length }).values;
// documents end with <|endoftext|>; score each one and flag its tokens
const eot = classifier.bilm.tokenizer.eotId;
const documents = [];
let start = 0;
for (let i = 0; i < tokens.length; i++) if (tokens[i] === eot) { documents.push([start, i]); start = i + 1; }
const scores = await classifier.scoreDocuments(documents.map(([a, b]) => tokens.subarray(a, b)));
const flagged = new Uint8Array(tokens.length);
documents.forEach(([a], k) => scores[k].forEach((p, j) => { flagged[a + j] = p >= threshold ? 1 : 0; }));

for (const path of models) {
  const model = await Transformer.load(path);
  const T = model.config.context;
  const B = 8;
  const windows = Math.floor((tokens.length - 1) / T);
  const sum = new Map();
  const count = new Map();
  for (let w0 = 0; w0 < windows; w0 += B) {
    const b = Math.min(B, windows - w0);
    const batch = { inputs: new Uint32Array(b * T), targets: new Uint32Array(b * T), lossMask: new Uint8Array(b * T).fill(1), batch: b, context: T };
    for (let r = 0; r < b; r++) {
      const at = (w0 + r) * T;
      batch.inputs.set(tokens.subarray(at, at + T), r * T);
      batch.targets.set(tokens.subarray(at + 1, at + T + 1), r * T);
    }
    const losses = await model.tokenLosses(batch);
    for (let r = 0; r < b; r++)
      for (let t = 0; t < T; t++) {
        const i = (w0 + r) * T + t + 1;
        if (labels[i] >= DOMAINS.length) continue;
        const key = `${DOMAINS[labels[i]]}/${flagged[i] ? 'flagged' : 'kept'}`;
        sum.set(key, (sum.get(key) ?? 0) + losses[r * T + t]);
        count.set(key, (count.get(key) ?? 0) + 1);
      }
  }
  const parts = [...sum.keys()].sort().map((k) => `${k} ${(sum.get(k) / count.get(k)).toFixed(3)} (n=${count.get(k)})`);
  console.log(`${path.split('/').pop()}: ${parts.join('; ')}`);
}
