// A numpy (OpenBLAS) sgemm timer in a long-lived python3 child, so benchmarks can time numpy
// and tokenfilter side by side, interleaved, in one run. Requests and replies are JSON lines.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const SERVER = String.raw`
import json, sys, time
try:
    import numpy as np
except Exception as e:
    print(json.dumps({"ready": False, "reason": str(e)}), flush=True)
    sys.exit(0)
print(json.dumps({"ready": True, "version": np.__version__}), flush=True)
rng = np.random.default_rng()
key, ops = None, None
for line in sys.stdin:
    r = json.loads(line)
    m, n, k, ta, tb = r["m"], r["n"], r["k"], r["transA"], r["transB"]
    if key != (m, n, k, ta, tb):
        key = (m, n, k, ta, tb)
        A = rng.standard_normal((k, m) if ta else (m, k), dtype=np.float32)
        B = rng.standard_normal((n, k) if tb else (k, n), dtype=np.float32)
        ops = (A.T if ta else A, B.T if tb else B, np.empty((m, n), dtype=np.float32))
    a, b, c = ops
    clock = time.process_time if r.get("clock") == "cpu" else time.perf_counter
    best = float("inf")
    for _ in range(r["reps"]):
        t = clock()
        np.matmul(a, b, out=c)
        best = min(best, clock() - t)
    print(json.dumps({"seconds": best}), flush=True)
`;

/**
 * Starts the numpy timer with OpenBLAS limited to `threads` threads. Resolves to null when
 * python3 or numpy is missing. The returned object's `time(shape, reps, clock)` resolves to the
 * best of `reps` runs in seconds of wall time (clock 'wall', the default) or of process CPU time
 * (clock 'cpu'); call `close()` when done.
 */
export async function startNumpy({ threads }) {
  const env = { ...process.env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) };
  // These two (set on some machines) make OpenBLAS pick a slower kernel / blocking.
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  // OpenBLAS's idle workers busy-wait for 2^28 cycles (~0.1 s) after each call, which takes a
  // core away from our GEMM timed right after it in the interleaved rounds; 2^4 lets them sleep.
  env.OPENBLAS_THREAD_TIMEOUT = '4';
  let child;
  try {
    child = spawn('python3', ['-c', SERVER], { env, stdio: ['pipe', 'pipe', 'inherit'] });
  } catch {
    return null;
  }
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const failed = new Promise((resolve) => child.on('error', () => resolve(null)));
  const first = await Promise.race([lines.next(), failed]);
  if (!first || first.done || !JSON.parse(first.value).ready) {
    child.kill();
    return null;
  }
  return {
    async time({ m, n, k, transA, transB }, reps, clock = 'wall') {
      child.stdin.write(JSON.stringify({ m, n, k, transA, transB, reps, clock }) + '\n');
      const reply = await lines.next();
      if (reply.done) throw new Error('the numpy timer exited');
      return JSON.parse(reply.value).seconds;
    },
    close() {
      child.stdin.end();
    },
  };
}
