#!/usr/bin/env python3
"""The shared-prefix read ratio from probe/vllm/attn_prefix.py's timings (a GPU profile's shared_kv_read_ratio).

  python3 probe/vllm/attn_prefix_report.py probe/results/<folder>/attn-prefix.json

For each batch of B sequences with P shared prefix tokens and S of their own, with t_own the kernel's time over the
S tokens alone (the P = 0 row), t_distinct over every sequence's own copy of the prefix and t_shared over one shared
copy: the prefix adds D = t_distinct - t_own read from HBM by all B sequences, and with one copy the first reader
still reads it from HBM (D / B) while the B - 1 others re-read it. The ratio r, the time a re-read token costs over a
token of a sequence's own (as moesim prices it: `BatchShape.decodeSharedContext` counts the B - 1 re-readers only):
  t_shared - t_own = D / B + r D (B - 1) / B.
Printed per case, then the median over the cases where the prefix's own copies add at least 20 us (smaller
differences are mostly the kernel's fixed cost and timing noise), per model and in all; and the distinct copies with
their blocks scattered over an engine-sized cache against in runs ("spread / distinct", where the results have it).

With --moesim BIN (a built moesim, e.g. .build/release/moesim), each case also gets moesim's own price of the distinct
copies (`moesim explain --json`: the attention kernel of one layer for B decode sequences of P + S tokens, from the
GPU's kernel tables) and measured / table: whether the tables price these shapes right before any sharing (the decode
steps behind a 1,024-token prefix with prefix caching off ran 1.10x moesim's prediction on two H200s, where OLMoE's
rows are extrapolated; docs/accuracy.md, forty-first session).
"""
import argparse
import json
import statistics
import subprocess
import sys

# The probe's device names (torch.cuda.get_device_name) -> moesim's GPU profiles.
GPUS = {"H200": "h200-sxm-141gb", "H100": "h100-sxm-80gb"}


def table_us(moesim, model, gpu, batch, tokens):
    """moesim's attention kernel time of one layer (us) and its source for `batch` decodes that each read `tokens` KV
    tokens, or (None, why) where moesim will not price the shape: longer than the model's context, or more KV than
    the GPU's cache holds beside the model (Mixtral-8x7B in bf16 does not fit one H100)."""
    # `--kv-len L` is the cached context before the decoded token: the step reads L + 1 tokens.
    r = subprocess.run([moesim, "explain", "--model", model, "--gpu", gpu, "--decode-seqs", str(batch), "--kv-len", str(tokens - 1), "--json"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return None, r.stderr.strip().splitlines()[0][:80] if r.stderr.strip() else "moesim explain failed"
    for c in json.loads(r.stdout)["layer"]:
        if c["component"] == "attention kernel":
            return c["time_us"], c["source"]
    return None, "no attention kernel in moesim's step"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results", help="attn_prefix.py's JSON")
    ap.add_argument("--moesim", help="a built moesim binary: add its table price of the distinct copies")
    a = ap.parse_args()
    d = json.load(open(a.results))
    cases = d["cases"]
    gpu = next((v for k, v in GPUS.items() if k in d["device"]), None)
    if a.moesim and gpu is None:
        sys.exit("%s: device %r is none of moesim's GPU profiles (%s)" % (a.results, d["device"], ", ".join(GPUS.values())))
    own = {(c["model"], c["batch"], c["own"]): c["distinct_us"] for c in cases if c["prefix"] == 0}
    print("%s, %s SMs, L2 %s bytes, %s" % (d["device"], d["sms"], d["l2_bytes"], d["date"]))
    extra_cols = " moesim's table us | distinct / table |" if a.moesim else ""
    print("| model | batch | prefix | own | t_own us | t_distinct us | t_shared us | shared / distinct | spread / distinct | ratio |" + extra_cols)
    print("|---|---|---|---|---|---|---|---|---|---|" + ("---|---|" if a.moesim else ""))
    spread = {}
    vs_table = {}
    kept = {}
    for c in cases:
        if c["prefix"] == 0:
            continue
        t0 = own.get((c["model"], c["batch"], c["own"]))
        if t0 is None:
            continue
        extra, b = c["distinct_us"] - t0, c["batch"]
        r = (c["shared_us"] - t0 - extra / b) / (extra * (b - 1) / b) if extra > 0 else float("nan")
        tail = ""
        if a.moesim:
            us, src = table_us(a.moesim, c["model"], gpu, c["batch"], c["prefix"] + c["own"])
            if us is not None:
                tail = " %.1f (%s) | %.3f |" % (us, src, c["distinct_us"] / us)
                vs_table.setdefault((c["model"], src), []).append(c["distinct_us"] / us)
            else:
                tail = " not priced: %s | - |" % src.replace("|", "/")
        # The distinct copies scattered over an engine-sized cache (attn_prefix.py's "spread" layout).
        sh = "%.3f" % (c["spread_us"] / c["distinct_us"]) if "spread_us" in c else "-"
        if "spread_us" in c:
            # Apart: the cases whose blocks fill the pool (only shuffled, no larger footprint).
            wider = c.get("spread_pool_bytes", 0) > c.get("spread_kv_bytes", 0)
            spread.setdefault((c["model"], wider), []).append(c["spread_us"] / c["distinct_us"])
        print("| %s | %d | %d | %d | %.1f | %.1f | %.1f | %.3f | %s | %s |%s" % (
            c["model"], c["batch"], c["prefix"], c["own"], t0, c["distinct_us"], c["shared_us"], c["shared_us"] / c["distinct_us"],
            sh, "%.3f" % r if extra >= 20 else "(%.3f)" % r, tail))
        if extra >= 20:
            kept.setdefault(c["model"], []).append(r)
    every = [r for v in kept.values() for r in v]
    for m, v in kept.items():
        print("%s: median ratio %.3f over %d cases (%.3f-%.3f)" % (m, statistics.median(v), len(v), min(v), max(v)))
    if every:
        print("all: median ratio %.3f over %d cases" % (statistics.median(every), len(every)))
    for (m, wider), v in sorted(spread.items()):
        print("%s: distinct copies %s / in runs of blocks, median %.3f over %d cases (%.3f-%.3f)" % (
            m, "scattered over a larger engine-sized cache" if wider else "shuffled within a cache they fill", statistics.median(v), len(v), min(v), max(v)))
    for (m, src), v in sorted(vs_table.items()):
        print("%s, moesim's table %s: distinct copies measured / table, median %.3f over %d cases (%.3f-%.3f)" % (
            m, src, statistics.median(v), len(v), min(v), max(v)))


if __name__ == "__main__":
    main()
