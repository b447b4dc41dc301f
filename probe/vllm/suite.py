#!/usr/bin/env python3
"""Runs a list of vLLM jobs (vllm_bench.py), one engine process each, within a time budget; resumable.

  python3 probe/vllm/suite.py --jobs probe/vllm/jobs-h200.json --results /root/vres --budget 540 [--only ID,ID]

Jobs run in the order listed; one already done (RESULTS/<job>/done) is not run again, so a second call of the same
command carries on where the first stopped. A job starts only if its estimated time (start-up plus its runs' est_s)
fits in what is left of the budget; inside a job, vllm_bench.py skips runs that would pass the deadline. Each job's
output goes to RESULTS/<job>/ (result files, runs.json, steplog/, log.txt); its step log is then cut into step traces
(summarize.py). Model folders (config.json only) are written from profiles/models by make_models.py first.
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import hostspeed  # noqa: E402
import summarize  # noqa: E402


def gpu_pids():
    try:
        out = subprocess.run(["nvidia-smi", "--query-compute-apps=pid", "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=20).stdout
        return [int(x) for x in out.split() if x.strip().isdigit()]
    except Exception:
        return []


def clear_gpu():
    for pid in gpu_pids():
        try:
            os.kill(pid, 9)
        except Exception:
            pass
    for _ in range(20):
        if not gpu_pids():
            return
        time.sleep(0.5)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--models", default="/root/vmodels")
    ap.add_argument("--budget", type=float, default=540, help="seconds this call may spend")
    ap.add_argument("--only", default="", help="comma-separated job ids to consider")
    ap.add_argument("--skip", default="", help="comma-separated job ids not to run (done in an earlier call)")
    ap.add_argument("--vsite", default="/root/vsite")
    args = ap.parse_args()
    t_start = time.time()
    deadline = t_start + args.budget
    spec = json.load(open(args.jobs))
    jobs = spec["jobs"]
    only = set(x for x in args.only.split(",") if x)
    skip = set(x for x in args.skip.split(",") if x)
    os.makedirs(args.results, exist_ok=True)
    subprocess.run([sys.executable, os.path.join(HERE, "make_models.py"), "--out", args.models,
                    "--models", ",".join(sorted(set(j["model"] for j in jobs)))], check=True)
    ran = []
    for job in jobs:
        if (only and job["id"] not in only) or job["id"] in skip:
            continue
        d = os.path.join(args.results, job["id"])
        if os.path.exists(os.path.join(d, "done")):
            continue
        est = float(job.get("startup_est_s", 90)) + sum(float(r.get("est_s", 30)) for r in job["runs"][:1])
        left = deadline - time.time()
        if est > left:
            print("[suite] %s: not started (needs about %.0f s, %.0f s left)" % (job["id"], est, left), flush=True)
            continue
        os.makedirs(d, exist_ok=True)
        jf = os.path.join(d, "job.json")
        json.dump(job, open(jf, "w"), indent=1)
        env = dict(os.environ)
        env["MOESIM_STEP_LOG_DIR"] = os.path.join(d, "steplog")
        env["PYTHONPATH"] = os.path.join(HERE, "steplog") + ":" + args.vsite
        env.update({"HF_HUB_OFFLINE": "1", "VLLM_NO_USAGE_STATS": "1", "DO_NOT_TRACK": "1",
                    "VLLM_USE_FLASHINFER_SAMPLER": "0", "PYTHONUNBUFFERED": "1", "TOKENIZERS_PARALLELISM": "false"})
        env.update(job.get("env", {}))
        print("[suite] %s: start (%.0f s left)" % (job["id"], left), flush=True)
        # A job may ask for a loaded host: cpu_hogs busy processes beside vLLM for the whole job, so that the host's
        # speed (hostspeed.py) is known to differ from the other jobs' and the host-cost model can be checked on it.
        hogs = hostspeed.start_busy(int(job.get("cpu_hogs", 0)))
        try:
            # The host's speed at the job's start, on record beside its runs (hostspeed.py).
            subprocess.run([sys.executable, os.path.join(HERE, "hostspeed.py"), "--json", os.path.join(d, "hostspeed.jsonl"),
                            "--label", job["id"]], timeout=60)
            t0 = time.time()
            with open(os.path.join(d, "log.txt"), "a") as lf:
                try:
                    p = subprocess.run([sys.executable, os.path.join(HERE, "vllm_bench.py"), "--job", jf, "--out", d,
                                        "--models", args.models, "--deadline", str(deadline - 15)],
                                       stdout=lf, stderr=subprocess.STDOUT, env=env, timeout=max(30, deadline - time.time()))
                    rc = p.returncode
                except subprocess.TimeoutExpired:
                    rc = "timeout"
        finally:
            # The busy processes end with the job, whatever ends it.
            hostspeed.stop_busy(hogs)
        clear_gpu()
        el = time.time() - t0
        with open(os.path.join(d, "done"), "w") as f:
            f.write("rc %s, %.0f s\n" % (rc, el))
        try:
            for line in summarize.summarize(d):
                print("[suite]   " + line, flush=True)
        except Exception as e:
            print("[suite] %s: summarize failed: %r" % (job["id"], e), flush=True)
        tail = open(os.path.join(d, "log.txt")).read().splitlines()
        print("[suite] %s: rc %s in %.0f s; last lines:" % (job["id"], rc, el), flush=True)
        for line in [l for l in tail if "[vllm_bench" in l or "Error" in l or "error" in l][-12:]:
            print("    " + line[:300], flush=True)
        ran.append(job["id"])
    print("[suite] ran %s in %.0f s" % (",".join(ran) or "nothing", time.time() - t_start), flush=True)


if __name__ == "__main__":
    main()
