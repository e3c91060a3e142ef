import { runCli } from '../../../lib/cli/main.js';
import type { CliIO } from '../../../lib/cli/output.js';

/** Runs the CLI in-process (no dependency on a compiled dist/), capturing its output; stderr is not a terminal. */
export async function runCaptured(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIO = { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s), isTTY: false } };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}
