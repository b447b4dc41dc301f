#!/usr/bin/env python3
"""How fast this host runs vLLM-like host work right now, in a few seconds: a fixed pure-Python workload (dicts,
lists, small objects: what vLLM's scheduler and output processing do) and, with --prefault GB, the time to touch
that much fresh memory first.

  python3 probe/vllm/hostspeed.py [--seconds S] [--prefault GB] [--json FILE] [--label TEXT]

For moesim's --host-speed: `--seconds 30` and its workload_geomean_s (the speed over half a minute; a single
measurement's workload_median_s can be off by 2x on a shared or virtual host).

The lent GPU host is a VM whose memory is backed as it is first touched; on 2026-12-03 the same vLLM decode step's
host time fell from 1.33 to 0.8 ms over three calls. This probe is run before every job (suite.py) so that a run's
host speed is on record beside it.
"""
import argparse
import json
import mmap
import os
import time


def workload():
    # A scheduler-shaped loop: per "request" a small dict and list, lookups, appends and a sort.
    reqs = {}
    for i in range(5000):
        reqs[i] = {"id": i, "tokens": [i, i + 1, i + 2], "state": "waiting", "n": 0}
    total = 0
    for step in range(40):
        running = []
        for i, r in reqs.items():
            if (i + step) % 3:
                r["n"] += 1
                r["tokens"].append(step)
                if len(r["tokens"]) > 16:
                    del r["tokens"][:8]
                running.append((r["n"], i))
        running.sort()
        total += len(running)
    return total


def speed(reps=5):
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        workload()
        ts.append(time.perf_counter() - t0)
    return min(ts), sorted(ts)[len(ts) // 2]


def cpu_ticks():
    """The host's cumulative CPU ticks (user+nice+system, idle+iowait, steal) from /proc/stat; None where unreadable."""
    try:
        f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
        return {"busy": f[0] + f[1] + f[2], "idle": f[3] + f[4], "steal": f[7] if len(f) > 7 else 0}
    except (OSError, ValueError, IndexError):
        return None


def busiest(n=4):
    """The n processes using most CPU now (ps), as 'pcpu comm' strings; [] where ps is missing."""
    try:
        import subprocess
        out = subprocess.run(["ps", "-eo", "pcpu,comm", "--sort=-pcpu"], capture_output=True, text=True, timeout=10).stdout
        return [" ".join(l.split()) for l in out.splitlines()[1:n + 1]]
    except Exception:
        return []


def state(reps=3):
    """What a run records beside itself: the workload's min and median time over reps, the CPU time stolen by the
    hypervisor and the idle share while it ran, the load average and the busiest processes."""
    a = cpu_ticks()
    mn, med = speed(reps)
    b = cpu_ticks()
    rec = {"workload_min_s": mn, "workload_median_s": med, "reps": reps}
    if a and b:
        tot = sum(b[k] - a[k] for k in a) or 1
        rec["steal_share"] = round((b["steal"] - a["steal"]) / tot, 4)
        rec["idle_share"] = round((b["idle"] - a["idle"]) / tot, 4)
    try:
        rec["loadavg"] = open("/proc/loadavg").read().strip()
    except OSError:
        pass
    rec["busiest"] = busiest()
    return rec


def start_busy(n, settle_s=0.0):
    """n busy processes (a pure-Python spin each), for a host known to be loaded: suite.py keeps a job's "cpu_hogs" for
    the whole job, vllm_bench.py a run's "hogs" for that run. settle_s: wait that long for them to spin up."""
    import subprocess
    import sys
    hs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    if hs and settle_s > 0:
        time.sleep(settle_s)
    return hs


def stop_busy(hs):
    """Ends start_busy's processes and waits for them."""
    for h in hs:
        h.kill()
    for h in hs:
        h.wait()


def prefault(gb, max_s):
    n = int(gb * (1 << 30))
    chunk = b"\1" * (1 << 24)
    t0 = time.perf_counter()
    m = mmap.mmap(-1, n)
    full = n - n % len(chunk)
    done = 0
    for off in range(0, full, len(chunk)):
        m[off:off + len(chunk)] = chunk
        done = off + len(chunk)
        if time.perf_counter() - t0 > max_s:
            break
    else:
        if n > full:
            m[full:n] = chunk[:n - full]
            done = n
    m.close()
    return time.perf_counter() - t0, done / (1 << 30)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--prefault", type=float, default=0)
    ap.add_argument("--max-s", type=float, default=90, help="stop touching memory after this many seconds")
    ap.add_argument("--seconds", type=float, default=0,
                    help="repeat the measurement for this long and report the geometric mean of the medians "
                         "(workload_geomean_s): the speed of a shared or virtual host moves within seconds, and moesim's "
                         "--host-speed wants the speed over a run (30 is a good choice)")
    ap.add_argument("--json", default="")
    ap.add_argument("--label", default="")
    a = ap.parse_args()
    rec = {"label": a.label, "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()), "host": os.uname().nodename}
    rec.update(state(5))
    if a.seconds > 0:
        import math
        meds, t_end = [rec["workload_median_s"]], time.perf_counter() + a.seconds
        while time.perf_counter() < t_end:
            meds.append(speed(3)[1])
        rec["workload_geomean_s"] = math.exp(sum(math.log(x) for x in meds) / len(meds))
        rec["measurements"] = len(meds)
    if a.prefault:
        rec["prefault_gb"] = a.prefault
        t, done = prefault(a.prefault, a.max_s)
        rec["prefault_s"], rec["prefault_done_gb"] = round(t, 3), round(done, 2)
        rec["after_prefault_min_s"], rec["after_prefault_median_s"] = speed()
    try:
        rec["meminfo"] = {l.split(":")[0]: l.split(":")[1].strip() for l in open("/proc/meminfo") if l.split(":")[0] in ("MemTotal", "MemFree", "MemAvailable")}
    except OSError:
        pass
    print("[hostspeed] " + json.dumps(rec), flush=True)
    if a.json:
        with open(a.json, "a") as f:
            f.write(json.dumps(rec) + "\n")


if __name__ == "__main__":
    main()
