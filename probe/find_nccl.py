#!/usr/bin/env python3
"""Print the NCCL root (a folder with include/nccl.h and lib/libnccl.so*) of the installed
nvidia-nccl-cu13 (or -cu12) Python package; exit 1 if there is none. Used by CMakeLists.txt."""
import importlib.metadata
import os
import sys

for dist in ("nvidia-nccl-cu13", "nvidia-nccl-cu12", "nvidia-nccl"):
    try:
        files = importlib.metadata.distribution(dist).files or []
    except importlib.metadata.PackageNotFoundError:
        continue
    for f in files:
        if f.name == "nccl.h":
            inc = os.path.dirname(os.path.abspath(f.locate()))
            root = os.path.dirname(inc)
            if os.path.isdir(os.path.join(root, "lib")):
                print(root)
                sys.exit(0)
try:  # namespace package fallback
    import nvidia.nccl as m
    for p in list(getattr(m, "__path__", [])) + [os.path.dirname(getattr(m, "__file__", "") or "")]:
        if p and os.path.exists(os.path.join(p, "include", "nccl.h")):
            print(p)
            sys.exit(0)
except ImportError:
    pass
sys.exit(1)
