#!/usr/bin/env python3
"""How AIConfigurator's power-law routing (power_law_1.01 / power_law_1.2) relates to moesim's `--routing zipf:s`.

AIConfigurator's collector (collector/helper.py, `power_law_logits_v3` / `_generate_power_law_distribution`) draws each
expert's load i.i.d. from a bounded Pareto density x^-alpha on [1, 0.8 N] (on [0.01, 2] when N k <= E), scales the
loads to N k token-expert pairs, rounds, and puts the most loaded EP rank first (that rank is the one timed). Tokens
are then assigned in sorted order, so an expert can receive more than N pairs (a token choosing it twice), which top-k
routing without replacement cannot do. moesim's zipf:s gives expert r (1-based rank, permuted per layer) probability
proportional to r^-s and draws each token's k experts without replacement.

This script compares the two by the load they put on the busiest expert and on the busiest of P EP ranks, and finds
the Zipf exponent s that matches each statistic. numpy only; seeded; prints a Markdown table.
  python3 experiments/aiconfigurator/routing_relation.py
"""
import numpy as np


def power_law_counts(rng, n, e, k, alpha):
    xmin, xmax = (1.0, n * 0.8) if n * k > e else (0.01, 2.0)
    u = rng.random(e)
    x = ((xmax ** (1 - alpha) - xmin ** (1 - alpha)) * u + xmin ** (1 - alpha)) ** (1 / (1 - alpha))
    c = np.round(x / x.sum() * n * k).astype(np.int64)
    d = n * k - int(c.sum())
    order = np.argsort(-c, kind="stable")
    for i in range(abs(d)):
        idx = order[i % e] if d > 0 else order[-(i % e) - 1]
        c[idx] += 1 if d > 0 else (-1 if c[idx] > 0 else 0)
    return c


def zipf_counts(rng, n, e, k, s):
    p = np.arange(1, e + 1, dtype=float) ** -s
    p /= p.sum()
    c = np.zeros(e, dtype=np.int64)
    for _ in range(n):
        c[rng.choice(e, size=k, replace=False, p=p)] += 1
    return c[rng.permutation(e)]  # moesim permutes the ranks per layer; experts are placed contiguously on EP ranks


def stats(counts, n, k, ep):
    c = np.array(counts, dtype=float)
    top = c.max(axis=1).mean() / (n * k)                       # busiest expert's share of all pairs
    ranks = c.reshape(c.shape[0], ep, -1).sum(axis=2)
    strag = (ranks.max(axis=1) / (n * k / ep)).mean()          # busiest EP rank / mean rank
    hits = (c > 0).sum(axis=1).mean()
    over = (c.max(axis=1) > n).mean()                           # draws where an expert gets more pairs than tokens
    return top, strag, hits, over


def main():
    rng = np.random.default_rng(12)
    cases = [(64, 8, 256, 2, "OLMoE"), (128, 8, 256, 2, "Qwen3-30B-A3B"), (8, 2, 256, 2, "Mixtral"), (64, 8, 32, 2, "OLMoE decode")]
    zs = [0.0, 0.5, 0.8, 1.0, 1.2, 1.5]
    print("| experts, top-k, tokens, EP | routing | busiest expert's share of pairs | busiest EP rank / mean | experts hit | draws with an expert over N pairs |")
    print("|---|---|---|---|---|---|")
    for e, k, n, ep, name in cases:
        for a in (1.01, 1.2):
            st = stats([power_law_counts(rng, n, e, k, a) for _ in range(200)], n, k, ep)
            print(f"| {name}: {e}, {k}, {n}, EP{ep} | power_law_{a} | {st[0]:.3f} | {st[1]:.2f} | {st[2]:.1f} | {st[3]:.0%} |")
        for s in zs:
            st = stats([zipf_counts(rng, n, e, k, s) for _ in range(40)], n, k, ep)
            print(f"| {name}: {e}, {k}, {n}, EP{ep} | zipf:{s} | {st[0]:.3f} | {st[1]:.2f} | {st[2]:.1f} | {st[3]:.0%} |")


if __name__ == "__main__":
    main()
