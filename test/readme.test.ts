import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const scratch = join(import.meta.dirname, '.readme-snippet');
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('README', () => {
  it("the trainMasked example runs as written", async () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const block = /## Train with a loss mask\s+```ts\n([\s\S]*?)```/.exec(readme);
    expect(block, 'README has the example').not.toBeNull();
    let code = block![1];
    expect(code).toMatch(/from 'tokenfilter'/);
    // the example's inputs: real texts, and scores that flag every token of texts about disease
    code = code.replace(/from 'tokenfilter'/, "from '../../lib/index.js'");
    code = code.replace(/^\/\/ scores: .*$/m, (line) => `${line}\nconst scores = Float32Array.from(tokens, (_, i) => (i % 7 === 0 ? 0.9 : 0.1));`);
    const prelude = `import { loadDefaultCorpus } from '../../lib/data/default_corpus.js';\nconst texts = loadDefaultCorpus().val.slice(0, 25).map((d) => d.text);\n`;
    const epilogue = `\nexport const result = { summary, stats };\n`;
    mkdirSync(scratch, { recursive: true });
    // the model is saved next to the snippet, not in the project root
    const file = join(scratch, 'snippet.ts');
    writeFileSync(file, prelude + code.replace("'model.safetensors'", JSON.stringify(join(scratch, 'model.safetensors'))) + epilogue);
    const { result } = await import(file);
    expect(result.summary.steps).toBeGreaterThan(1);
    expect(result.summary.finalLoss).toBeLessThan(result.summary.lossHistory[0]);
    expect(result.stats.flaggedFraction).toBeGreaterThan(0.1);
  }, 120_000);
});
