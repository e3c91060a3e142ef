// `npm run bench [-- NAME [--option value ...]]`: runs one benchmark from bench/NAME.mjs with
// the given options, or every benchmark with its defaults. Each prints JSON lines
// {bench, metric, value, unit, ...}.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const benchDir = join(root, 'bench');
const available = readdirSync(benchDir)
  .filter((f) => f.endsWith('.mjs') && !f.startsWith('_'))
  .map((f) => f.slice(0, -4))
  .sort();

function parseOptions(argv) {
  const options = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new Error(`unexpected argument '${arg}' (options look like --name value)`);
    const key = arg.slice(2);
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) options[key] = true;
    else {
      options[key] = Number.isFinite(Number(next)) ? Number(next) : next;
      i++;
    }
  }
  return options;
}

const [name, ...rest] = process.argv.slice(2);
const names = name ? [name] : available;
for (const n of names) {
  if (!available.includes(n)) {
    console.error(`unknown benchmark '${n}'; available: ${available.join(', ')}`);
    process.exit(2);
  }
  const mod = await import(pathToFileURL(join(benchDir, `${n}.mjs`)).href);
  await mod.run(name ? parseOptions(rest) : {});
}
