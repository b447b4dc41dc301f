#!/usr/bin/env bash
# The Slurm path for real (run by `swift test`, SlurmArrayTests): installs Slurm from the system's packages if
# sbatch is missing, starts a one-node slurmctld + slurmd, runs the same sweep unsharded and as an N-task job
# array followed by the merge job, and compares the merged files with the unsharded ones byte for byte.
#   deploy/slurm/ci-test.sh MOESIM-BINARY [N] [SEEDS]
# Exit 0: identical; 1: different or a job failed; 77: Slurm cannot be installed or started here (reason on stderr).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
moesim=${1:?usage: $0 MOESIM-BINARY [N] [SEEDS]}; n=${2:-3}; seeds=${3:-2}
spec=${SPEC:-"$here/../ci-sweep.json"}   # SPEC: another spec to run (the figures in the README)
"$here/local-slurm.sh" install || exit $?
work=$(mktemp -d /tmp/moesim-slurm.XXXXXX)
env_line=$("$here/local-slurm.sh" start "$work/cluster") || { rc=$?; "$here/local-slurm.sh" stop "$work/cluster"; exit $rc; }
export "$env_line"
cleanup() { "$here/local-slurm.sh" stop "$work/cluster"; [ -n "${KEEP:-}" ] || rm -rf "$work"; }
trap cleanup EXIT
cd "$work"
"$moesim" sweep "$spec" --seeds "$seeds" --out "$work/unsharded" >/dev/null || { echo "the unsharded sweep failed" >&2; exit 1; }
t0=$(date +%s.%N)
ids=$(MOESIM="$moesim" "$here/submit.sh" "$spec" "$work/sharded" "$n" "$seeds") || { echo "sbatch failed" >&2; exit 1; }
read -r array merge <<<"$ids"
for _ in $(seq 1 600); do
    [ -z "$(squeue -h -j "$array,$merge" 2>/dev/null)" ] && break
    sleep 0.5
done
t1=$(date +%s.%N)
if [ -n "$(squeue -h -j "$array,$merge" 2>/dev/null)" ]; then
    echo "the jobs did not finish in 300 s:"; squeue; exit 1
fi
status=0
files="results.csv results.jsonl"; [ "$seeds" -gt 1 ] && files="$files summary.csv"
for f in $files; do
    if cmp -s "$work/unsharded/$f" "$work/sharded/merged/$f"; then echo "identical: $f"
    else echo "DIFFERENT or missing: $f"; status=1; fi
done
if [ $status != 0 ]; then
    for f in "$work"/sharded/slurm-*.out; do echo "--- $f"; cat "$f"; done
    tail -20 "$work/cluster/log/slurmctld.log"
fi
printf 'slurm: %d-task array + merge of %s (%s seeds), submit to merged in %.2f s\n' "$n" "$(basename "$spec")" "$seeds" "$(echo "$t1 - $t0" | bc -l 2>/dev/null || python3 -c "print($t1-$t0)")"
exit $status
