#!/usr/bin/env bash
# Checks the Kubernetes manifests without a cluster (run by `swift test`, KubernetesManifestTests):
# 1. kubernetes-validate --strict (PyPI; offline, against the package's Kubernetes API schemas) on both files;
# 2. the structure the sweep needs (python3 + PyYAML): an Indexed Job whose completions equal the N in --shard,
#    restartPolicy Never, the results volume shared by the sweep and the merge, the spec from the ConfigMap;
# 3. the pods' own command lines run here, one per completion index with JOB_COMPLETION_INDEX set as the Job
#    controller sets it, then the merge job's, and the merged files compared with an unsharded sweep of the
#    ConfigMap's spec byte for byte (with /spec and /results mapped to a temporary directory).
#   deploy/kubernetes/check.sh MOESIM-BINARY
# Exit 0: all passed; 1: a check failed; 77: a tool is missing (reason on stderr).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
moesim=${1:?usage: $0 MOESIM-BINARY}
command -v kubernetes-validate >/dev/null || { echo "kubernetes-validate is not installed (pip install kubernetes-validate)" >&2; exit 77; }
python3 -c 'import yaml' 2>/dev/null || { echo "PyYAML is not installed" >&2; exit 77; }
kubernetes-validate --strict --quiet "$here/sweep-indexed-job.yaml" "$here/merge-job.yaml" || { echo "kubernetes-validate failed"; exit 1; }
echo "schema: kubernetes-validate --strict passed for 4 resources"
work=$(mktemp -d /tmp/moesim-k8s.XXXXXX); trap 'rm -rf "$work"' EXIT
mkdir -p "$work/spec" "$work/results" "$work/bin"
ln -s "$moesim" "$work/bin/moesim"
python3 - "$here" "$work" <<'PY' || exit 1
import sys, yaml, json
here, work = sys.argv[1], sys.argv[2]
docs = list(yaml.safe_load_all(open(here + "/sweep-indexed-job.yaml")))
merge = yaml.safe_load(open(here + "/merge-job.yaml"))
kinds = {d["kind"]: d for d in docs}
assert set(kinds) == {"ConfigMap", "PersistentVolumeClaim", "Job"}, kinds.keys()
job = kinds["Job"]["spec"]
assert job["completionMode"] == "Indexed", "not an Indexed Job"
pod = job["template"]["spec"]; c = pod["containers"][0]
assert pod["restartPolicy"] == "Never"
cmd = " ".join(c["command"] + c["args"])
n = int(cmd.split("--shard ")[1].split()[0])
assert n == job["completions"], f"--shard {n} but completions {job['completions']}"
assert "$JOB_COMPLETION_INDEX" in cmd and "--resume" in cmd
claim = kinds["PersistentVolumeClaim"]["metadata"]["name"]
for p in (pod, merge["spec"]["template"]["spec"]):
    vols = {v["name"]: v for v in p["volumes"]}
    assert vols["results"]["persistentVolumeClaim"]["claimName"] == claim
    assert vols["spec"]["configMap"]["name"] == kinds["ConfigMap"]["metadata"]["name"]
spec = kinds["ConfigMap"]["data"]["spec.json"]; json.loads(spec)
open(work + "/spec/spec.json", "w").write(spec)
mc = merge["spec"]["template"]["spec"]["containers"][0]
def local(s): return s.replace("/spec/", work + "/spec/").replace("/results/", work + "/results/")
open(work + "/shard.sh", "w").write(local(c["args"][0]) + "\n")
open(work + "/merge.sh", "w").write(local(mc["args"][0]) + "\n")
open(work + "/n", "w").write(str(n))
print(f"structure: Indexed Job of {n} completions, --shard {n}, shared claim '{claim}', spec from the ConfigMap")
PY
n=$(cat "$work/n")
export PATH="$work/bin:$PATH" MOESIM_PROFILES="$here/../../profiles"
cd "$work"
for k in $(seq 0 $((n - 1))); do
    JOB_COMPLETION_INDEX=$k sh "$work/shard.sh" >/dev/null || { echo "pod $k failed"; exit 1; }
done
sh "$work/merge.sh" >/dev/null || { echo "the merge job failed"; exit 1; }
moesim sweep "$work/spec/spec.json" --out "$work/unsharded" >/dev/null || { echo "the unsharded sweep failed"; exit 1; }
status=0
for f in results.csv results.jsonl; do
    if cmp -s "$work/unsharded/$f" "$work/results/merged/$f"; then echo "identical: $f"; else echo "DIFFERENT: $f"; status=1; fi
done
exit $status
