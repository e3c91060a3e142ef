// Time to build the default WordNet corpus from a cold start (target: under 5 s), and its size.
// Wall time suffers on a busy machine; cpuSeconds (the child's user + system time) less so.
// Runs in a child process so the in-memory caches are cold. Needs `npx tsc -p tsconfig.json`.
import { execFileSync } from 'node:child_process';

const script = `
const t0 = performance.now();
const { loadDefaultCorpus } = await import(${JSON.stringify(new URL('../dist/data/default_corpus.js', import.meta.url).href)});
const c = loadDefaultCorpus({ seed: 0 });
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage();
console.log(JSON.stringify({ seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, train: c.stats.train, medicalRepeats: c.stats.medicalRepeats, documents: c.train.length + c.val.length + c.test.length }));
`;

export async function run(options = {}) {
  const repeats = options.repeats ?? 3;
  for (let r = 0; r < repeats; r++) {
    const out = JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }));
    console.log(JSON.stringify({ bench: 'default_corpus', metric: 'cold_load', value: Number(out.seconds.toFixed(3)), unit: 's', run: r, cpuSeconds: Number(out.cpuSeconds.toFixed(3)), documents: out.documents, trainCharacters: out.train.characters, medicalFraction: Number(out.train.fraction.medical.toFixed(4)) }));
  }
}
