"""moesim's vLLM step logger: records every engine step of a real vLLM run, in every process vLLM starts.

Python imports `sitecustomize` at start-up from the first folder of PYTHONPATH that holds one, so putting this
folder first on PYTHONPATH reaches the engine-core process (and TP workers) that vLLM spawns, which a patch made in
the front-end process would not. It does nothing unless MOESIM_STEP_LOG_DIR is set. When a vLLM module named below is
imported, it wraps a few methods with timers (a few microseconds a step; the step's composition is read from
objects vLLM has already built and worked out only when the engine is idle, so the host time being measured is not
inflated by the logging):

  engine core:  Scheduler.schedule (its output: decode sequences and contexts, prefill chunks and prefixes, running,
                waiting, KV usage), Scheduler.update_from_output, EngineCore.step / step_with_batch_queue (the loop);
  worker:       Worker.execute_model and Worker.sample_tokens (host time, and CUDA events on the current stream
                around the step's GPU work: its GPU span and the GPU's idle gap before it), the CUDA-graph dispatch
                (FULL / PIECEWISE / NONE and the padded token count, both model runners);
  front end:    OutputProcessor.process_outputs (the front end's per-step output handling).

Each process appends JSON lines to MOESIM_STEP_LOG_DIR/<role>-<pid>.jsonl; clocks are time.monotonic() (one clock
for all processes of the host). `summarize.py` turns them into step traces. Written for vLLM 0.24.0.
"""
import os
import sys

_DIR = os.environ.get("MOESIM_STEP_LOG_DIR")

if _DIR:
    import importlib.abc
    import importlib.machinery
    import json
    import time

    _mono = time.monotonic
    try:  # the vCPU this thread runs on (glibc's sched_getcpu, well under a microsecond), to see the engine core move
        import ctypes
        _getcpu = ctypes.CDLL(None, use_errno=True).sched_getcpu
        _getcpu.restype = ctypes.c_int
    except Exception:
        _getcpu = lambda: -1
    _TARGETS = {
        "vllm.v1.core.sched.scheduler",
        "vllm.v1.engine.core",
        "vllm.v1.worker.gpu_worker",
        "vllm.v1.cudagraph_dispatcher",
        "vllm.v1.worker.gpu.model_runner",
        "vllm.v1.engine.output_processor",
        "vllm.model_executor.layers.fused_moe.router.fused_moe_router",
    }

    class _Log:
        """One process's records, written out when the engine is idle (or every `cap` records)."""

        def __init__(self):
            self.core = []      # engine-core step records (dicts holding references until written)
            self.loops = []     # engine-core loop iterations: (t0, t1, executed)
            self.work = []      # worker: [t_exec0, t_exec1, t_samp0, t_samp1, ev_start, ev_end, cg_mode, cg_tokens, tokens]
            self.front = []     # front end: (t0, t1, n_outputs)
            self.by_id = {}     # id(scheduler_output) -> core record
            self.prompt_len = {}
            self.cg = None      # last CUDA-graph dispatch: (mode, padded tokens)
            self.pool = []      # spare CUDA events
            self.prev_end = None
            self.files = {}
            self.cap = 20000
            self.routing = None  # armed by Worker.moesim_routing("arm"): per router (MoE layer, in call order) expert counts
            self.routing_calls = []

        def file(self, role):
            key = (role, os.getpid())  # a forked child keeps its parent's handles: never write into them
            f = self.files.get(key)
            if f is None:
                os.makedirs(_DIR, exist_ok=True)
                f = open(os.path.join(_DIR, "%s-%d.jsonl" % key), "a", buffering=1 << 20)
                self.files[key] = f
            return f

        def event(self):
            import torch
            return self.pool.pop() if self.pool else torch.cuda.Event(enable_timing=True)

        def flush(self, sync=True):
            try:
                self._flush_work(sync)
                self._flush_core(final=sync)
                if self.front:
                    f = self.file("front")
                    for t0, t1, n in self.front:
                        f.write('{"t0":%.6f,"t1":%.6f,"n":%d}\n' % (t0, t1, n))
                    self.front = []
                    f.flush()
            except Exception as e:  # never break vLLM
                sys.stderr.write("moesim steplog: flush failed: %r\n" % (e,))

        def _flush_work(self, sync):
            # w = [x0, x1, s0, s1, evA, evB, cg, cgt, tok, gpu_ms, gap_ms, attached]
            if not self.work:
                return
            if sync:
                import torch
                torch.cuda.synchronize()
            done = 0
            f = None
            for w in self.work:
                a, b = w[4], w[5]
                if a is not None and b is not None:
                    if not (a.query() and b.query()):
                        break
                    w[9] = a.elapsed_time(b)
                    w[10] = self.prev_end.elapsed_time(a) if self.prev_end is not None else -1.0
                    if self.prev_end is not None:
                        self.pool.append(self.prev_end)
                    self.prev_end = b
                    self.pool.append(a)
                else:
                    w[9] = -1.0; w[10] = -1.0
                w[4] = w[5] = None
                done += 1
                if not w[11]:
                    if f is None:
                        f = self.file("work")
                    f.write('{"x0":%.6f,"x1":%.6f,"s0":%.6f,"s1":%.6f,"gpu_ms":%.4f,"gap_ms":%.4f,"cg":"%s","cgt":%d,"tok":%d}\n'
                            % (w[0], w[1], w[2], w[3], w[9], w[10], w[6], w[7], w[8]))
            del self.work[:done]
            if f is not None:
                f.flush()

        def _flush_core(self, final):
            if not self.core and not self.loops:
                return
            f = self.file("core")
            done = 0
            plen = self.prompt_len
            for r in self.core:
                w = r.get("_w")
                if w is not None and w[9] is None and not final:
                    break
                done += 1
                so = r.pop("so")
                r.pop("_w", None)
                if w is not None:
                    r["x0"] = w[0]; r["x1"] = w[1]; r["s0"] = w[2]; r["s1"] = w[3]
                    r["gpu_ms"] = w[9] if w[9] is not None else -1.0
                    r["gap_ms"] = w[10] if w[10] is not None else -1.0
                    r["cg"] = w[6]; r["cgt"] = w[7]
                dec_n = dec_ctx = dec_max = 0
                chunks = []
                ns = so.num_scheduled_tokens
                for nr in so.scheduled_new_reqs:
                    p = len(nr.prompt_token_ids) if nr.prompt_token_ids is not None else 0
                    plen[nr.req_id] = p
                    n = ns.get(nr.req_id, 0)
                    c = nr.num_computed_tokens
                    if n == 1 and c >= p:
                        dec_n += 1; dec_ctx += c + 1; dec_max = max(dec_max, c + 1)
                    else:
                        chunks.append((n, c))
                cr = so.scheduled_cached_reqs
                for rid, c in zip(cr.req_ids, cr.num_computed_tokens):
                    n = ns.get(rid, 0)
                    if n == 1 and c >= plen.get(rid, 0):
                        dec_n += 1; dec_ctx += c + 1; dec_max = max(dec_max, c + 1)
                    else:
                        chunks.append((n, c))
                r["dn"] = dec_n; r["dctx"] = dec_ctx; r["dmax"] = dec_max
                r["pn"] = len(chunks)
                r["pt"] = sum(x[0] for x in chunks)
                r["pre"] = [list(x) for x in chunks[:64]]
                r["preempt"] = len(so.preempted_req_ids or ())
                r["fin"] = len(so.finished_req_ids)
                f.write(json.dumps(r, separators=(",", ":")) + "\n")
            del self.core[:done]
            for t0, t1, ex in self.loops:
                f.write('{"loop":[%.6f,%.6f,%d]}\n' % (t0, t1, ex))
            self.loops = []
            if not self.core:
                self.by_id = {}
            f.flush()

    _L = _Log()

    def _patch_scheduler(mod):
        S = mod.Scheduler
        orig_schedule = S.schedule
        orig_update = S.update_from_output

        def schedule(self, *a, **k):
            t0 = _mono()
            so = orig_schedule(self, *a, **k)
            t1 = _mono()
            try:
                rec = {"t0": t0, "t1": t1, "tok": so.total_num_scheduled_tokens, "run": len(self.running),
                       "wait": len(self.waiting), "kv": round(self.kv_cache_manager.usage, 5), "so": so,
                       "cpu": _getcpu()}
                _L.core.append(rec)
                _L.by_id[id(so)] = rec
            except Exception:
                pass
            return so

        def update_from_output(self, scheduler_output, model_runner_output):
            t0 = _mono()
            out = orig_update(self, scheduler_output, model_runner_output)
            t1 = _mono()
            rec = _L.by_id.get(id(scheduler_output))
            if rec is not None:
                rec["u0"] = t0; rec["u1"] = t1
            return out

        S.schedule = schedule
        S.update_from_output = update_from_output

    def _patch_core(mod):
        E = mod.EngineCore

        def wrap(orig):
            def step(self, *a, **k):
                t0 = _mono()
                out = orig(self, *a, **k)
                t1 = _mono()
                try:
                    _L.loops.append((t0, t1, 1 if out[1] else 0))
                    # Written out when the harness asks (Worker.moesim_flush, between runs), or here once many
                    # records wait and the engine is idle.
                    if len(_L.core) >= _L.cap and not self.scheduler.has_requests() and not self.batch_queue:
                        _L.flush(sync=True)
                except Exception:
                    pass
                return out
            return step

        E.step = wrap(E.step)
        E.step_with_batch_queue = wrap(E.step_with_batch_queue)

        # MOESIM_PIN_ENGINE_CORE=3 (or "3,4"): the engine core's thread runs on those vCPUs only, set as the engine
        # core is built (in its own process; the threads it starts after inherit it), so that two engines' host work
        # can be timed on the same vCPU (probe/vllm/pairhost.py).
        pin = os.environ.get("MOESIM_PIN_ENGINE_CORE")
        if pin:
            orig_init = E.__init__

            def init(self, *a, **k):
                try:
                    os.sched_setaffinity(0, {int(x) for x in pin.split(",") if x.strip()})
                except Exception as e:
                    sys.stderr.write("moesim steplog: could not pin the engine core to %s: %r\n" % (pin, e))
                return orig_init(self, *a, **k)
            E.__init__ = init

    def _profile_counts(p):
        """What one profiled stretch of engine steps ran, counted: GPU kernels (by name), the CUDA launch calls made on
        the host, the operator calls made from Python (a namespaced op whose callers are no other op: aten::, vllm::,
        _C:: ...), launches made from Python directly (Triton kernels), and the host time of the busiest names."""
        from collections import Counter
        kernels, top_ops, launches, direct, self_us = Counter(), Counter(), Counter(), Counter(), Counter()
        for e in p.events():
            name = e.name
            if str(e.device_type).endswith("CUDA"):
                kernels[name[:90]] += 1
                continue
            par, under_op = e.cpu_parent, False
            while par is not None:
                if "::" in par.name:
                    under_op = True
                    break
                par = par.cpu_parent
            if name.startswith("cu") and ("Launch" in name or "Memcpy" in name or "Memset" in name):
                launches[name] += 1
                if not under_op:
                    direct[name] += 1
                continue
            if "::" in name and not under_op:
                top_ops[name[:90]] += 1
            try:
                self_us[name[:90]] += e.self_cpu_time_total
            except Exception:
                pass
        return {"gpu_kernels": sum(kernels.values()), "launch_calls": dict(launches),
                "direct_launches": dict(direct), "top_level_ops": sum(top_ops.values()),
                "kernels": kernels.most_common(80), "ops": top_ops.most_common(120),
                "self_cpu_us": [(k, round(v, 1)) for k, v in self_us.most_common(60)]}

    def _kernel_times(p, steps):
        """The GPU kernels of a profiled window of `steps` engine steps, timed: per kernel name its launches and total
        device time (µs), the window's busy time (the kernels' summed durations) and span (first kernel start to last
        kernel end). Kernels replayed inside CUDA graphs are listed by CUPTI like any other."""
        from collections import defaultdict
        n, us = defaultdict(int), defaultdict(float)
        t_lo, t_hi = None, None
        for e in p.events():
            if not str(e.device_type).endswith("CUDA"):
                continue
            tr = e.time_range
            d = tr.end - tr.start
            n[e.name[:120]] += 1
            us[e.name[:120]] += d
            t_lo = tr.start if t_lo is None else min(t_lo, tr.start)
            t_hi = tr.end if t_hi is None else max(t_hi, tr.end)
        rows = sorted(((k, n[k], round(us[k], 2)) for k in us), key=lambda r: -r[2])
        return {"steps": steps, "busy_us": round(sum(us.values()), 1), "span_us": round((t_hi - t_lo) if t_lo is not None else 0.0, 1),
                "kernels": len(rows), "launches": sum(n.values()), "kernel_us": rows[:200]}

    def _patch_worker(mod):
        W = mod.Worker
        orig_exec = W.execute_model
        orig_sample = W.sample_tokens

        def execute_model(self, scheduler_output, *a, **k):
            t0 = _mono()
            ev = None
            tok = getattr(scheduler_output, "total_num_scheduled_tokens", 0)
            if tok > 0:
                try:
                    ev = _L.event(); ev.record()
                except Exception:
                    ev = None
            _L.cg = None
            arm = getattr(self, "_moesim_arm", None)
            if arm is not None and tok > 0:
                # A step window armed by moesim_profile("arm", first, count): the profiler starts at the busy step
                # `first` after arming and stops, with the GPU drained, when step first + count begins, so the window
                # holds exactly `count` steps' kernels (the steps before it were launched before the profiler started).
                if arm["seen"] == arm["first"]:
                    import torch
                    from torch.profiler import ProfilerActivity, profile
                    torch.cuda.synchronize()
                    pr = profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA])
                    pr.__enter__()
                    arm["prof"] = pr
                elif arm["seen"] == arm["first"] + arm["count"] and arm.get("prof") is not None:
                    import torch
                    torch.cuda.synchronize()
                    arm["prof"].__exit__(None, None, None)
                    arm["result"] = _kernel_times(arm.pop("prof"), arm["count"])
                arm["seen"] += 1
            out = orig_exec(self, scheduler_output, *a, **k)
            t1 = _mono()
            cg = _L.cg or ("?", -1)
            rec = _L.by_id.get(id(scheduler_output))
            w = [t0, t1, 0.0, 0.0, ev, None, cg[0], cg[1], tok, None, None, rec is not None]
            _L.work.append(w)
            if rec is not None:
                rec["_w"] = w
            if out is not None and ev is not None:
                # The step finished without a separate sampling call (e.g. a pipeline stage): close it here.
                try:
                    e2 = _L.event(); e2.record(); w[5] = e2
                except Exception:
                    pass
            if rec is None and len(_L.work) >= _L.cap:
                _L.flush(sync=False)
            return out

        def sample_tokens(self, *a, **k):
            t0 = _mono()
            out = orig_sample(self, *a, **k)
            t1 = _mono()
            if _L.work and _L.work[-1][3] == 0.0:
                w = _L.work[-1]
                w[2] = t0; w[3] = t1
                if w[4] is not None and w[5] is None:
                    try:
                        e2 = _L.event(); e2.record(); w[5] = e2
                    except Exception:
                        pass
            return out

        def moesim_flush(self):
            _L.flush(sync=True)
            return os.getpid()

        W.execute_model = execute_model
        W.sample_tokens = sample_tokens
        def moesim_hostspeed(self):
            # The host's speed as this process sees it (probe/vllm/hostspeed.py's workload), for the harness to record
            # beside each run: with one GPU the worker runs inside the engine-core process, whose host work the engine
            # model's host costs describe (the front-end process can sit on a CPU of another speed).
            import sys as _sys
            _here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
            if _here not in _sys.path:
                _sys.path.insert(0, _here)
            import hostspeed
            r = hostspeed.state()
            r["pid"] = os.getpid()
            # Where this process's Triton compiles go (thirty-fifth session: which engines share Triton's cache on
            # the host): the environment variable and, where this Triton has them, its knobs.
            r["triton_cache_dir_env"] = os.environ.get("TRITON_CACHE_DIR")
            try:
                import triton
                r["triton_cache_dir"] = str(triton.knobs.cache.dir)
            except Exception as e:
                r["triton_cache_dir_error"] = repr(e)[:120]
            return r

        def moesim_profile(self, action="start", first=0, count=0):
            # PyTorch's profiler around the steps between "start" and "stop" (vllm_bench.py, a run with "profile": true):
            # what the host calls per step, counted, not timed (the profiler slows the host). "stop" returns
            # _profile_counts' summary.
            # "arm" (a run with "profile_steps": [first, count]) times the GPU kernels of a window of busy steps
            # instead (execute_model starts and stops it); "result" returns _kernel_times' summary, or why there is none.
            import torch
            if action == "arm":
                self._moesim_arm = {"first": int(first), "count": int(count), "seen": 0}
                return os.getpid()
            if action == "result":
                arm = getattr(self, "_moesim_arm", None)
                self._moesim_arm = None
                if arm is None:
                    return {"error": "no step window was armed"}
                if arm.get("prof") is not None:
                    # The run ended inside the window: stop at its last step.
                    torch.cuda.synchronize()
                    arm["prof"].__exit__(None, None, None)
                    arm["result"] = _kernel_times(arm.pop("prof"), arm["seen"] - arm["first"])
                    arm["result"]["note"] = "the run ended inside the window"
                return arm.get("result") or {"error": "the run had %d busy steps; the window starts at step %d" % (arm["seen"], arm["first"])}
            if action == "start":
                from torch.profiler import ProfilerActivity, profile
                p = profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA])
                p.__enter__()
                self._moesim_prof = p
                return os.getpid()
            p = getattr(self, "_moesim_prof", None)
            if p is None:
                return {"error": "the profiler was not started"}
            self._moesim_prof = None
            torch.cuda.synchronize()
            p.__exit__(None, None, None)
            return _profile_counts(p)

        def moesim_routing(self, action="arm"):
            # "arm": count the experts every MoE layer's router picks from now on; "result": per layer the counts, and per
            # call size (tokens) the mean experts hit and the mean load of the most loaded expert, against what the same
            # tokens spread uniformly at random would give.
            if action == "arm":
                _L.routing, _L.routing_calls = {}, []
                return os.getpid()
            acc = _L.routing
            _L.routing = None
            if acc is None:
                return {"error": "routing was not armed"}
            if not acc:
                return {"error": getattr(_L, "routing_error", "no MoE router was called (CUDA graphs replay without Python: use enforce_eager)")}
            import torch
            torch.cuda.synchronize()
            layers = [c.tolist() for c in acc.values()]  # dicts keep the layers' first-call order
            buckets = {}
            for tok, hits, mx in _L.routing_calls:
                b = 1 if tok == 1 else 8 if tok <= 8 else 64 if tok <= 64 else 512 if tok <= 512 else 4096 if tok <= 4096 else 16384
                x = buckets.setdefault(b, [0, 0, 0.0, 0.0])
                x[0] += 1; x[1] += tok; x[2] += int(hits); x[3] += int(mx)
            calls = {str(b): {"calls": x[0], "mean_tokens": x[1] / x[0], "mean_hits": x[2] / x[0], "mean_max_load": x[3] / x[0]}
                     for b, x in sorted(buckets.items())}
            return {"layers": layers, "experts": len(layers[0]), "calls_by_tokens": calls}

        W.moesim_routing = moesim_routing
        W.moesim_flush = moesim_flush
        W.moesim_hostspeed = moesim_hostspeed
        W.moesim_profile = moesim_profile
        if not hasattr(W, "_moesim_flush_hooked"):
            import atexit
            atexit.register(lambda: _L.flush(sync=True))
            W._moesim_flush_hooked = True

    def _mode_name(m):
        s = str(m)
        return s.split(".")[-1]

    def _patch_dispatcher(mod):
        D = mod.CudagraphDispatcher
        orig = D.dispatch

        def dispatch(self, *a, **k):
            out = orig(self, *a, **k)
            try:
                _L.cg = (_mode_name(out[0]), int(out[1].num_tokens))
            except Exception:
                pass
            return out

        D.dispatch = dispatch

    def _patch_runner_v2(mod):
        orig = getattr(mod, "dispatch_cg_and_sync_dp", None)
        if orig is None:
            return

        def dispatch_cg_and_sync_dp(*a, **k):
            out = orig(*a, **k)
            try:
                bd = out[0]
                _L.cg = (_mode_name(bd.cg_mode), int(bd.num_tokens))
            except Exception:
                pass
            return out

        mod.dispatch_cg_and_sync_dp = dispatch_cg_and_sync_dp

    def _patch_output(mod):
        O = mod.OutputProcessor
        orig = O.process_outputs

        def process_outputs(self, engine_core_outputs, *a, **k):
            t0 = _mono()
            out = orig(self, engine_core_outputs, *a, **k)
            _L.front.append((t0, _mono(), len(engine_core_outputs)))
            if len(_L.front) >= _L.cap:
                _L.flush(sync=False)
            return out

        O.process_outputs = process_outputs
        import atexit
        atexit.register(lambda: _L.flush(sync=False))

    def _patch_router(mod):
        # The experts vLLM's router picks (FusedMoERouter.select_experts, every MoE layer but gpt-oss's, whose Triton
        # MXFP4 path routes inside its kernel), counted per layer while a run is armed (vllm_bench.py's "routing": true).
        # Python runs here only outside CUDA graphs: the routing jobs use enforce_eager.
        R = mod.FusedMoERouter
        orig = R.select_experts

        def select_experts(self, hidden_states, router_logits, *a, **k):
            out = orig(self, hidden_states, router_logits, *a, **k)
            acc = _L.routing
            if acc is not None:
                try:
                    import torch
                    ids = out[1].flatten().long()
                    e = int(router_logits.shape[-1])
                    c = torch.bincount(ids, minlength=e)[:e]
                    key = id(self)
                    if key not in acc:
                        acc[key] = torch.zeros(e, dtype=torch.int64, device=ids.device)
                    acc[key] += c
                    # Per call: its tokens, the experts it hit and the most loaded expert's pairs (no host sync here).
                    _L.routing_calls.append((int(out[1].shape[0]), (c > 0).sum(), c.max()))
                except Exception as ex:  # never break the model
                    _L.routing_error = repr(ex)[:200]
            return out

        R.select_experts = select_experts

    _PATCHES = {
        "vllm.model_executor.layers.fused_moe.router.fused_moe_router": _patch_router,
        "vllm.v1.core.sched.scheduler": _patch_scheduler,
        "vllm.v1.engine.core": _patch_core,
        "vllm.v1.worker.gpu_worker": _patch_worker,
        "vllm.v1.cudagraph_dispatcher": _patch_dispatcher,
        "vllm.v1.worker.gpu.model_runner": _patch_runner_v2,
        "vllm.v1.engine.output_processor": _patch_output,
    }

    class _Loader(importlib.abc.Loader):
        def __init__(self, inner, name):
            self.inner, self.name = inner, name

        def create_module(self, spec):
            return self.inner.create_module(spec)

        def exec_module(self, module):
            self.inner.exec_module(module)
            try:
                _PATCHES[self.name](module)
            except Exception as e:
                sys.stderr.write("moesim steplog: could not patch %s: %r\n" % (self.name, e))

    class _Finder(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name not in _TARGETS:
                return None
            spec = importlib.machinery.PathFinder.find_spec(name, path)
            if spec is not None and spec.loader is not None:
                spec.loader = _Loader(spec.loader, name)
            return spec

    sys.meta_path.insert(0, _Finder())

    def flush_front_end():
        """The harness calls this between runs (the front end's process)."""
        _L.flush(sync=False)

    import builtins
    builtins._moesim_steplog_flush = flush_front_end
