# A stand-in for the few torch calls probe/vllm/attn_prefix.py makes, to dry-run its logic on a CPU (numpy).
import numpy as np
__version__ = "fake"
int32, int64, bfloat16, uint8 = np.int32, np.int64, "bf16", np.uint8
class device:
    def __init__(self, s): self.s = s
class T:
    def __init__(self, a=None, shape=None): self.a = a; self.shape = tuple(a.shape) if a is not None else tuple(shape)
    def to(self, x): return T(self.a.astype(x)) if (self.a is not None and not isinstance(x, device)) else self
    def long(self): return T(self.a.astype(np.int64))
    def __getitem__(self, k):
        if isinstance(k, T): return T(self.a[k.a])
        return T(np.asarray(self.a[k]))
    def __setitem__(self, k, v): self.a[k] = v.a if isinstance(v, T) else v
    def fill_(self, v): return self
    def max(self): return self.a.max()
def _big(shape, dtype): return T(None, shape) if dtype == "bf16" else T(np.zeros(shape, dtype=dtype))
def empty(*shape, dtype=None, device=None):
    if len(shape) == 1 and isinstance(shape[0], tuple): shape = shape[0]
    return _big(shape, dtype) if dtype == "bf16" or dtype == np.uint8 and shape[0] > 1e6 else T(np.zeros(shape, dtype=dtype or np.float32))
def randn(*shape, device=None, dtype=None): return _big(shape, dtype)
def empty_like(t): return T(None, t.shape)
def arange(a, b=None, dtype=np.int64, device=None): return T(np.arange(a, b, dtype=dtype) if b is not None else np.arange(a, dtype=dtype))
def full(shape, v, dtype=None, device=None): return T(np.full(shape, v, dtype=dtype))
class Generator:
    def manual_seed(self, s): self.rng = np.random.default_rng(s); return self
def randperm(n, generator=None): return T(generator.rng.permutation(n).astype(np.int64))
class _Props: multi_processor_count = 132; L2_cache_size = 62914560
class cuda:
    @staticmethod
    def get_device_properties(i): return _Props()
    @staticmethod
    def get_device_name(i): return "NVIDIA H200 (fake)"
    @staticmethod
    def _sleep(n): pass
    @staticmethod
    def synchronize(): pass
    @staticmethod
    def empty_cache(): pass
    class Event:
        def __init__(self, enable_timing=False): pass
        def record(self): pass
        def elapsed_time(self, o): return 0.01
