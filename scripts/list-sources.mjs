// Prints the native sources binding.gyp compiles (the same CPU sources CMakeLists.txt globs),
// one per line, relative to the package root.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const dirs = ['core', 'kernels', 'models', 'tokenizer', 'addon'];
for (const dir of dirs) {
  let names = [];
  try {
    names = readdirSync(join(root, 'native', dir));
  } catch {
    continue;
  }
  for (const name of names.sort()) if (name.endsWith('.cc')) console.log(`native/${dir}/${name}`);
}
