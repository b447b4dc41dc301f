#!/usr/bin/env python3
"""Cuts a pairhost.py session's step log into one step trace per model, for `moesim validate` and `moesim calibrate`.

  python3 probe/vllm/pairhost_traces.py PAIR_DIR [--steplog DIR]

PAIR_DIR holds pairhost.jsonl and the step log (PAIR_DIR/steplog/, or unpacked from PAIR_DIR/steplog.tar.xz, or
--steplog DIR). Each model's engine core wrote its own core-<pid>.jsonl; the file whose steps fall in that model's
call windows (pairhost.jsonl's lone_windows_mono and mixed16_window_mono, on the step logger's clock) is that model's.
Writes PAIR_DIR/<model>.steps.json, the format summarize.py writes (one run, "pairhost", from the first call's start to
the last call's end: the engine is idle between its calls), and prints each trace's steps by kind.
"""
import argparse
import glob
import json
import os
import shutil
import statistics
import sys
import tarfile
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import summarize  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("pair_dir")
    ap.add_argument("--steplog", help="the step log folder (default: PAIR_DIR/steplog, or PAIR_DIR/steplog.tar.xz unpacked)")
    a = ap.parse_args()
    recs = [json.loads(l) for l in open(os.path.join(a.pair_dir, "pairhost.jsonl"))]
    meta = next(r for r in recs if r["kind"] == "meta")
    rounds = [r for r in recs if r["kind"] == "round"]
    with tempfile.TemporaryDirectory() as tmp:
        steplog = a.steplog or os.path.join(a.pair_dir, "steplog")
        if not os.path.isdir(steplog):
            tar = os.path.join(a.pair_dir, "steplog.tar.xz")
            if not os.path.exists(tar):
                sys.exit("pairhost_traces.py: %s has neither steplog/ nor steplog.tar.xz" % a.pair_dir)
            with tarfile.open(tar) as t:
                t.extractall(tmp, filter="data")
            steplog = os.path.join(tmp, "steplog")
        cores = {cf: [json.loads(l) for l in open(cf)] for cf in glob.glob(os.path.join(steplog, "core-*.jsonl"))}
        for model in meta["models"]:
            wins = [w for r in rounds if model in r for w in r[model]["lone_windows_mono"] + [r[model]["mixed16_window_mono"]]]
            if not wins:
                continue
            inside = lambda cf: sum(1 for x in cores[cf] if x.get("tok", 0) > 0 and any(s <= x["t0"] <= e for s, e in wins))
            cf = max(cores, key=inside)
            job = os.path.join(tmp, model)
            os.makedirs(os.path.join(job, "steplog"))
            shutil.copy(cf, os.path.join(job, "steplog"))
            run = {"id": "pairhost", "kind": "offline", "t0": min(w[0] for w in wins), "t1": max(w[1] for w in wins)}
            # An entry's engine arguments (pairhost.py's MODEL+key=value entries; 2,048 batched tokens otherwise).
            engine = meta.get("engines", {}).get(model, {}).get("engine", {"max_num_batched_tokens": 2048})
            prov = {"harness": "probe/vllm/pairhost.py", "date": meta["date"], "gpu": meta.get("gpu"), "models": meta["models"],
                    "engine_core_vcpu": meta["pin"], "max_num_batched_tokens": engine.get("max_num_batched_tokens", 2048), "max_model_len": 4096,
                    "core_file": os.path.basename(cf)}
            if "engines" in meta:
                prov["model"], prov["engine_args"] = meta["engines"][model]["model"], engine
            json.dump({"job": {"id": "pairhost-" + model}, "provenance": prov, "runs": [run]}, open(os.path.join(job, "runs.json"), "w"))
            for line in summarize.summarize(job):
                print(line)
            out = os.path.join(a.pair_dir, model + ".steps.json")
            shutil.move(os.path.join(job, "pairhost.steps.json"), out)
            tr = json.load(open(out))
            col = {c: i for i, c in enumerate(tr["columns"])}
            none = [s for s in tr["steps"] if s[col["cg"]] == "NONE" and s[col["interval"]] is not None]
            lone = [s[col["interval"]] for s in none if s[col["pn"]] == 1 and not s[col["dn"]]]
            mixed = [s[col["interval"]] for s in none if s[col["dn"]]]
            print("  %s: %d steps; without CUDA graphs: lone prompts %d (median %.1f ms), with decodes %d (median %.1f ms)" % (
                out, len(tr["steps"]), len(lone), statistics.median(lone) if lone else float("nan"), len(mixed),
                statistics.median(mixed) if mixed else float("nan")))


if __name__ == "__main__":
    main()
