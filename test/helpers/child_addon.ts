// Tests that run native code in a child process (to survive a crash or a hang) load the addon
// the way lib/native.ts does: the file named by TOKENFILTER_ADDON (the sanitizer build) when
// set, else the local build or prebuild.
import { packageRoot } from '../../lib/native.js';

/** JavaScript source (CommonJS, for `node -e`) that defines `addon`. */
export const CHILD_ADDON_SOURCE = `
const addon = process.env.TOKENFILTER_ADDON
  ? require(process.env.TOKENFILTER_ADDON)
  : require(require.resolve('node-gyp-build', { paths: [${JSON.stringify(packageRoot)}] }))(${JSON.stringify(packageRoot)});
`;
