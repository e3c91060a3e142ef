// `npm install` hook: use a prebuilt binary when one matches this platform (prebuilds/,
// made by `npm run prebuildify`), otherwise compile the addon from source with cmake-js.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = join(fileURLToPath(import.meta.url), '..', '..');

if (!process.env.TOKENFILTER_BUILD_FROM_SOURCE) {
  try {
    require('node-gyp-build').path(root);
    console.log('tokenfilter: using the prebuilt native addon');
    process.exit(0);
  } catch {
    // no prebuild for this platform: build below
  }
}
const cmakeJs = join(require.resolve('cmake-js/package.json'), '..', 'bin', 'cmake-js');
const result = spawnSync(process.execPath, [cmakeJs, 'compile'], { cwd: root, stdio: 'inherit' });
if (result.status !== 0) {
  console.error(
    'tokenfilter: building the native addon failed. It needs cmake (>= 3.18) and a C++17 compiler;\n' +
      'install them (e.g. `apt-get install cmake g++`) and run `npm rebuild tokenfilter`.',
  );
  process.exit(result.status ?? 1);
}
