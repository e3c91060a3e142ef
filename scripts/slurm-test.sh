#!/usr/bin/env bash
# A real single-node Slurm run of `tokenfilter filter` as a 1-based job array (--array=1-3,
# --shard auto/3): task 2 fails on its first try, `tokenfilter summary` must report task index 1
# missing, the task is resubmitted alone (explicit --shard index), and the merged outputs must be
# byte-identical to a one-process run. Installs slurm-wlm and munge with apt-get when sbatch is
# missing (needs root); exits 0 with "SKIPPED: ..." when Slurm cannot be installed or started.
# Usage: npm run build:ts && bash scripts/slurm-test.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cli="$root/dist/cli/main.js"
[ -f "$cli" ] || { echo "run npm run build:ts first" >&2; exit 1; }
skip() { echo "SKIPPED: $*"; exit 0; }

if ! command -v sbatch >/dev/null; then
  [ "$(id -u)" = 0 ] || skip "sbatch missing and not root: cannot install slurm-wlm"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge >/dev/null 2>&1; } \
    || skip "apt-get could not install slurm-wlm and munge"
fi

work=$(mktemp -d /tmp/tf-slurm.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# munge: a key of our own and a daemon on our own socket
mkdir -p "$work/munge"
dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 status=none
chmod 700 "$work/munge"; chmod 400 "$work/munge/munge.key"
munged --force --key-file="$work/munge/munge.key" --socket="$work/munge/socket" \
  --pid-file="$work/munge/munged.pid" --log-file="$work/munge/munged.log" --seed-file="$work/munge/seed" \
  || skip "munged would not start"
pids+=("$(cat "$work/munge/munged.pid")")

host=$(hostname -s)
mkdir -p "$work/state" "$work/spool"
cat > "$work/slurm.conf" <<EOF
ClusterName=tftest
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$work/munge/socket
CredType=cred/munge
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
NodeName=$host CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
EOF
export SLURM_CONF="$work/slurm.conf"
slurmctld -f "$SLURM_CONF" || skip "slurmctld would not start: $(tail -3 "$work/slurmctld.log" 2>/dev/null)"
slurmd -f "$SLURM_CONF" || skip "slurmd would not start: $(tail -3 "$work/slurmd.log" 2>/dev/null)"
sleep 1
pids+=("$(cat "$work/slurmctld.pid")" "$(cat "$work/slurmd.pid")")
for _ in $(seq 1 30); do sinfo -h -o %T 2>/dev/null | grep -q idle && break; sleep 1; done
sinfo -h -o %T | grep -q idle || skip "the Slurm node never became idle: $(sinfo 2>&1 | tail -2)"

# inputs: 6 token shards with score side files
mkdir -p "$work/in"
node --input-type=module -e "
import { writeShard } from '$root/dist/data/shard.js';
import { SideFileKind, sideFilePathFor, writeSideFile } from '$root/dist/data/side_file.js';
const tokenizer = { vocabSize: 1000, eotId: 0, hiddenId: 1, hash: 'c3'.repeat(32), name: 'test' };
for (let s = 0; s < 6; s++) {
  const n = 5000 + 1000 * s;
  const tokens = Uint32Array.from({ length: n }, (_, i) => (i % 101 === 0 ? 0 : 2 + ((i * 31 + s) % 998)));
  const scores = Uint8Array.from({ length: n }, (_, i) => (i * 37 + s * 11) % 256);
  const path = '$work/in/shard_' + s + '.bin';
  await writeShard(path, tokens, { tokenizer });
  await writeSideFile(sideFilePathFor(path, SideFileKind.ScoresUint8), scores, { kind: SideFileKind.ScoresUint8, tokenizer });
}"
shards=("$work"/in/shard_*.bin)
args=(filter "${shards[@]}" --mode remove --fraction 0.2 --json)

# the array: 1-based (--array=1-3, --shard auto/3); task id 2 (index 1) fails on its first try
cat > "$work/job.sh" <<JOB
#!/bin/bash
if [ "\$SLURM_ARRAY_TASK_ID" = 2 ] && [ ! -e "$work/failed-once" ]; then touch "$work/failed-once"; exit 1; fi
exec node "$cli" ${args[*]} --out "$work/out" --shard auto/3
JOB
chmod +x "$work/job.sh"
started=$(date +%s)
sbatch --wait --array=1-3 -o "$work/task-%a.log" "$work/job.sh" >/dev/null || true
node "$cli" summary "$work/out" --json > "$work/summary1.json"
node -e "
const s = JSON.parse(require('fs').readFileSync('$work/summary1.json', 'utf8')).stages[0];
const got = s.tasks.map((t) => t.status).join(',');
if (got !== 'done,missing,done') { console.error('after the array: expected done,missing,done, got ' + got); process.exit(1); }
console.log('after the array: tasks ' + got + ', shards ' + s.shards.done + '/' + s.shards.total);"

# resubmit only the failed task with its index given explicitly (auto/3 refuses a 1-task array)
sbatch --wait --array=2 -o "$work/task-%a-retry.log" \
  --wrap "node $cli ${args[*]} --out $work/out --shard \$((SLURM_ARRAY_TASK_ID - 1))/3" >/dev/null
node "$cli" summary "$work/out" --json > "$work/summary2.json"
node -e "
const r = JSON.parse(require('fs').readFileSync('$work/summary2.json', 'utf8'));
if (!r.complete) { console.error('after the resubmission the run is not complete'); process.exit(1); }
console.log('after the resubmission: complete, flagged share ' + r.stages[0].flaggedShare.toFixed(4));"

# one process, same inputs: every output byte-identical
node "$cli" "${args[@]}" --out "$work/one" >/dev/null
for f in "$work"/one/*.bin "$work"/one/*.side; do
  cmp -s "$f" "$work/out/$(basename "$f")" || { echo "FAILED: $(basename "$f") differs from the one-process run"; exit 1; }
done
echo "PASSED: 1-based Slurm array + resubmitted task == one process ($(ls "$work"/one/*.bin | wc -l) shards, $(( $(date +%s) - started )) s)"