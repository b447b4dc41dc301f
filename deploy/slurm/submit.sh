#!/usr/bin/env bash
# Queues a sharded moesim sweep on Slurm: an N-task array, then the merge once every task succeeded.
#   deploy/slurm/submit.sh SPEC OUT N [SEEDS]
# Prints the array's and the merge's job ids ("ARRAY MERGE"); results land in OUT/merged.
# MOESIM (the binary, default `moesim`) and any sbatch options in SBATCH_* variables pass through.
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: $0 SPEC OUT N [SEEDS]" >&2; exit 64; }
here=$(cd "$(dirname "$0")" && pwd)
spec=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
mkdir -p "$2"; out=$(cd "$2" && pwd); n=$3; seeds=${4:-1}
export SPEC="$spec" OUT="$out" SEEDS="$seeds" MOESIM="${MOESIM:-moesim}"
array=$(sbatch --parsable --array=0-$((n - 1)) --output="$out/slurm-%A_%a.out" --export=ALL "$here/sweep-array.sbatch")
array=${array%%;*}
merge=$(sbatch --parsable --dependency=afterok:"$array" --kill-on-invalid-dep=yes --output="$out/slurm-merge-%j.out" \
    --export=ALL "$here/merge.sbatch")
echo "$array ${merge%%;*}"
