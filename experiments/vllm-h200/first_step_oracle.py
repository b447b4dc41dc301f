#!/usr/bin/env python3
"""How much of the offline error is vLLM's random first step: every held-out offline run of the vLLM manifest
predicted again with its first step as its own step trace shows it (`--first-step-requests`), beside the prediction
moesim makes (every request at the first step).

A diagnostic, not a prediction: the first step comes from the run being predicted. LLM.generate hands the requests to
the engine core one by one, and the core's first schedule takes those it has by then: 1 to 29 in these runs, median
3, different every time. The later steps' sizes follow from it, and so does which of them meet a fused-MoE kernel
configuration start-up did not compile (a one-off wait of about a second). If the errors given the first step are
small, what is left of the offline error is that draw and not the engine model.

  .build/release/moesim validate experiments/vllm-h200/manifest.json --json /tmp/v.json
  python3 experiments/vllm-h200/first_step_oracle.py /tmp/v.json [--moesim .build/release/moesim]
"""
import argparse
import json
import os
import re
import statistics

from host_oracle import validate

here = os.path.dirname(os.path.abspath(__file__))


def first_step(entry):
    """The number of requests the first step of the run's step trace held, or None without a trace."""
    m = re.search(r"\.\./\.\./probe/results/(\S+?)\.json", entry.get("note", ""))
    if not m:
        return None
    path = os.path.join(here, "../../probe/results/%s.steps.json" % m.group(1))
    if not os.path.exists(path):
        return None
    d = json.load(open(path))
    cols = {c: i for i, c in enumerate(d["columns"])}
    return d["steps"][0][cols["pn"]] if d["steps"] else None


# A wait the prediction holds shows as this much more wall time than with every kernel compiled (a compile takes
# 0.3-3 s; the run's other steps move by milliseconds when the compile is gone).
WAIT_S = 0.1


def warm_all(args):
    """The run's arguments with every Triton kernel taken as compiled (--warm-token-counts all)."""
    out, skip = [], False
    for x in args:
        if skip:
            skip = False
            continue
        if x == "--warm-token-counts":
            skip = True
            continue
        out.append(x)
    return out + ["--warm-token-counts", "all"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("validate_json", help="moesim validate --json output over experiments/vllm-h200/manifest.json")
    ap.add_argument("--moesim", default=os.path.join(here, "../../.build/release/moesim"))
    a = ap.parse_args()
    v = json.load(open(a.validate_json))
    m = json.load(open(os.path.join(here, "manifest.json")))
    rows = {(r["id"], r["metric"]): r for r in v["rows"]}
    entries, k, prompts = [], {}, {}
    for e in m["runs"]:
        r = rows.get((e["id"], "elapsed_time"))
        if e["fit"] or r is None or r["relative_error"] is None or "-graphless/" in e["id"] or "/g-i" in e["id"] or e["id"].startswith("x2/"):
            continue
        n = first_step(e)
        if n is None:
            continue
        k[e["id"]] = n
        prompts[e["id"]] = int(e["args"][e["args"].index("--num-prompts") + 1]) if "--num-prompts" in e["args"] else 1
        x = dict(e)
        x["args"] = list(e["args"]) + ["--first-step-requests", str(n)]
        x["measured"] = {"elapsed_time": e["measured"]["elapsed_time"]}
        entries.append(x)
    again = validate(a.moesim, entries)
    # The same runs with every kernel taken as compiled (--warm-token-counts all): where the wall time drops, the
    # prediction given the first step holds a first-use wait.
    warm = validate(a.moesim, [dict(x, args=warm_all(x["args"])) for x in entries])
    stall = {e["id"] for e in m["runs"] if "stall" in e.get("tags", [])}
    print("| held out, offline wall time | runs | moesim (every request at the first step) | given the run's first step |")
    print("|---|---|---|---|")
    for label, pick in (("without a one-off stall", lambda i: i not in stall), ("with one", lambda i: i in stall), ("all", lambda i: True)):
        ids = [i for i in k if pick(i)]
        base = [abs(rows[(i, "elapsed_time")]["relative_error"]) for i in ids]
        given = [abs(again[(i, "elapsed_time")]["relative_error"]) for i in ids]
        print("| %s | %d | %.1f%% (%d beyond 25%%) | %.1f%% (%d beyond 25%%) |" % (
            label, len(ids), 100 * statistics.mean(base), sum(x > 0.25 for x in base),
            100 * statistics.mean(given), sum(x > 0.25 for x in given)))
    waits = {i for i in k if again[(i, "elapsed_time")]["predicted"] - warm[(i, "elapsed_time")]["predicted"] > WAIT_S}
    agree = sum((i in waits) == (i in stall) for i in k)
    print("\ngiven the run's first step, a first-use wait is predicted in %d of the %d runs and a one-off stall was measured in %d; "
          "the two agree in %d runs (%.0f%%): wait and stall %d, neither %d, a wait without a stall %d, a stall without a wait %d" % (
              len(waits), len(k), len(stall & set(k)), agree, 100 * agree / len(k), len(waits & stall), len(set(k) - waits - stall),
              len(waits - stall), len((stall & set(k)) - waits)))
    counts = sorted(n for i, n in k.items() if prompts[i] > 1)
    print("\nfirst steps of the %d runs of more than one request: %d to %d requests, median %g" % (len(counts), counts[0], counts[-1], statistics.median(counts)))


if __name__ == "__main__":
    main()
