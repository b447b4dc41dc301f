#!/usr/bin/env python3
"""Cuts the raw step logs of a job (steplog/*.jsonl, written by steplog/sitecustomize.py) into one step trace per run.

  python3 probe/vllm/summarize.py JOB_DIR [JOB_DIR ...]

For each run listed in JOB_DIR/runs.json it writes JOB_DIR/<run>.steps.json:

  {"kind": "vllm-step-trace", "job": ..., "run": ..., "provenance": {...},
   "columns": [...], "steps": [[...], ...], "front_end": {...}}

one row per engine step the engine core scheduled during the run, in order. Times are milliseconds; `t` is when the
step's scheduling began, from the run's start. Columns:
  t          schedule() began (ms from the run's start)
  interval   the next step's t minus this one's (the engine's step period)
  sched      time in Scheduler.schedule
  exec       host time in Worker.execute_model (input preparation, launch; eager steps launch every kernel here)
  sample     host time in Worker.sample_tokens
  update     time in Scheduler.update_from_output (for this step's output, which under async scheduling comes one
             step later)
  gpu        the step's GPU span: CUDA events on the current stream at the start of execute_model and at the end of
             sample_tokens (includes any wait of the GPU for the host's launches)
  gap        the GPU's idle time between the previous step's end and this step's start
  cg, cgt    CUDA graph mode (FULL / PIECEWISE / NONE) and the token count it was padded to
  tok        tokens scheduled; dn, dctx, dmax: decode sequences, their summed and largest context (tokens incl. the new
             one); pn, pt: prefill chunks and their tokens; pre: [[chunk, prefix], ...] (first 64)
  run, wait  requests running and waiting after scheduling; kv: KV-cache usage (0-1); preempt, fin: requests
             preempted this step and finished since the last one
  cpu        the vCPU the engine core's scheduler ran on at the step (sched_getcpu; absent before 2026-12-05)
"""
import glob
import json
import os
import sys

COLS = ["t", "interval", "sched", "exec", "sample", "update", "gpu", "gap", "cg", "cgt", "tok", "dn", "dctx", "dmax",
        "pn", "pt", "pre", "run", "wait", "kv", "preempt", "fin", "cpu"]


def r3(x):
    return None if x is None else round(x, 3)


def load_jsonl(paths):
    out = []
    for p in paths:
        with open(p) as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass  # a line cut short by a killed process
    return out


def summarize(job_dir):
    rj = os.path.join(job_dir, "runs.json")
    if not os.path.exists(rj):
        return []
    meta = json.load(open(rj))
    # One engine core per DP rank (core-<pid>.jsonl); with TP > 1 the GPU timings are in the workers' files
    # (work-<pid>.jsonl, one per TP rank): the first worker of each engine core is joined to its steps in order.
    core_files = sorted(glob.glob(os.path.join(job_dir, "steplog", "core-*.jsonl")), key=lambda f: int(f.split("-")[-1].split(".")[0]))
    work_files = sorted(glob.glob(os.path.join(job_dir, "steplog", "work-*.jsonl")), key=lambda f: int(f.split("-")[-1].split(".")[0]))
    ranks = []
    for k, cf in enumerate(core_files):
        recs = load_jsonl([cf])
        st = [r for r in recs if "t0" in r]
        if st and "gpu_ms" not in st[0] and work_files:
            # TP > 1: the workers of engine core k are the k-th group of TP files (started after their core).
            tp = max(1, len(work_files) // max(1, len(core_files)))
            work = load_jsonl([work_files[k * tp]])
            for r, w in zip(st, work):
                for key in ("x0", "x1", "s0", "s1", "gpu_ms", "gap_ms", "cg", "cgt"):
                    if key in w:
                        r[key] = w[key]
        ranks.append((st, [r["loop"] for r in recs if "loop" in r]))
    if not ranks:
        return []
    lines = []
    for dp_rank, (st, lp) in enumerate(ranks):
        lines += summarize_rank(job_dir, meta, sorted(st, key=lambda r: r["t0"]), lp, dp_rank, len(ranks))
    return lines


def summarize_rank(job_dir, meta, steps, loops, dp_rank, dp):
    suffix = "" if dp == 1 else ".dp%d" % dp_rank
    front = load_jsonl(sorted(glob.glob(os.path.join(job_dir, "steplog", "front-*.jsonl"))))
    lines = []
    for run in meta["runs"]:
        a, b = run["t0"], run["t1"]
        sel = [r for r in steps if a <= r["t0"] <= b and r.get("tok", 0) > 0]
        rows = []
        for i, r in enumerate(sel):
            nxt = sel[i + 1]["t0"] if i + 1 < len(sel) else None
            ms = lambda x, y: None if (x is None or y is None) else (y - x) * 1e3
            rows.append([
                r3((r["t0"] - a) * 1e3), r3(ms(r["t0"], nxt)), r3(ms(r["t0"], r["t1"])),
                r3(ms(r.get("x0"), r.get("x1"))), r3(ms(r.get("s0"), r.get("s1"))), r3(ms(r.get("u0"), r.get("u1"))),
                r3(r.get("gpu_ms")), r3(r.get("gap_ms")), r.get("cg"), r.get("cgt"), r["tok"], r.get("dn"), r.get("dctx"),
                r.get("dmax"), r.get("pn"), r.get("pt"), r.get("pre"), r.get("run"), r.get("wait"), r.get("kv"),
                r.get("preempt"), r.get("fin"), r.get("cpu")])
        fr = [x for x in front if a <= x["t0"] <= b]
        fe = {"calls": len(fr), "outputs": sum(x["n"] for x in fr),
              "busy_ms": round(sum((x["t1"] - x["t0"]) * 1e3 for x in fr), 3)}
        nl = [l for l in loops if a <= l[0] <= b]
        out = {"kind": "vllm-step-trace", "job": meta["job"]["id"], "run": run["id"], "run_kind": run["kind"], "dp_rank": dp_rank,
               "provenance": meta.get("provenance"), "columns": COLS, "steps": rows, "front_end": fe,
               "engine_loop_calls": len(nl), "window_ms": round((b - a) * 1e3, 3)}
        with open(os.path.join(job_dir, run["id"] + ".steps" + suffix + ".json"), "w") as f:
            json.dump(out, f, separators=(",", ":"))
        dec = [x for x in rows if x[11] and not x[14] and x[1] is not None]
        med = lambda v: sorted(v)[len(v) // 2] if v else float("nan")
        lines.append("%-28s %-22s steps %5d  decode-only %5d  median interval %7.3f ms  gpu %7.3f  sched %6.3f  exec %6.3f  update %6.3f" % (
            meta["job"]["id"], run["id"], len(rows), len(dec), med([x[1] for x in dec]), med([x[6] for x in dec if x[6] is not None]),
            med([x[2] for x in dec]), med([x[3] for x in dec if x[3] is not None]), med([x[5] for x in dec if x[5] is not None])))
    return lines


if __name__ == "__main__":
    for d in sys.argv[1:]:
        for line in summarize(d):
            print(line)
