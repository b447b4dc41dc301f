#!/usr/bin/env python3
"""One-off stalls in a job's step traces: a step that took over 300 ms, more than three times the median of the
job's steps of similar size (tokens within a factor 1.5, each scaled to this step's token count), with the engine core's host stuck in execute_model for
most of it (> 80%); the similar steps' median is replaced by the job's steps of 512 tokens or more, per token, where
that is lower (steps of the same kind: prompt-led, at least half their tokens prompt tokens, or decode-led; for a kernel library that compiles per token-count bucket, such as gpt-oss's Triton MXFP4 kernels, every
similar-sized step of a job may be a first use). These are first uses of a kernel configuration (a Triton JIT compile of the fused-MoE kernel for
a token count the start-up warm-up did not cover, also seen with --enforce-eager); moesim does not model them.

  python3 probe/vllm/stalls.py probe/results/2026-12-03-h200-vllm
"""
import sys
import json, glob, os, statistics as st
def stalls(jd):
    files=sorted(glob.glob(os.path.join(jd,'*.steps.json')))
    data={}; allrows=[]; C=None
    for f in files:
        d=json.load(open(f)); C={c:i for i,c in enumerate(d['columns'])}
        # A step's time is its interval to the next step; a run's last step has none, and its host time in
        # execute_model stands in (a run of one lone prompt is one such step).
        rows=[r[:C['interval']]+[r[C['interval']] or r[C['exec']]]+r[C['interval']+1:] for r in d['steps'] if r[C['interval']] or r[C['exec']]]
        data[f]=rows; allrows+=rows
    out={}
    for f,rows in data.items():
        s=[]
        for r in rows:
            tok=r[C['tok']]; iv=r[C['interval']]; ex=r[C['exec']] or 0
            if iv<300 or ex<0.8*iv: continue
            # Similar steps' time scaled to this step's token count (per token): within a factor 1.5 of tokens a
            # step's time still grows with them, and a job may hold only a few steps that large.
            sim=[x[C['interval']]*tok/max(x[C['tok']],1) for x in allrows if tok/1.5<=x[C['tok']]<=tok*1.5 and x is not r]
            m=st.median(sim) if sim else 0
            # Where the similar steps are themselves first uses (a kernel library that compiles per token-count bucket,
            # such as gpt-oss's Triton MXFP4 kernels, stalls on every new size), the job's steps of 512 tokens or more,
            # per token, stand in: such a step's time grows about linearly with its tokens.
            # Steps of the same kind only, prompt-led (at least half their tokens prompt tokens) or decode-led: a
            # decode's time per token is several times a prompt token's (each decode reads its whole context), so a
            # job's 1,024-sequence decode steps would make a stalled prompt step of similar size look ordinary.
            led=lambda x: x[C['pt']]*2>=x[C['tok']]
            big=[x[C['interval']]/x[C['tok']] for x in allrows if x[C['tok']]>=512 and led(x)==led(r) and x is not r]
            if big: m=min(m,st.median(big)*tok) if m else st.median(big)*tok
            if iv>3*m: s.append((round(iv),tok,round(m,1)))
        if s: out[os.path.basename(f).replace('.steps.json','')]=s
    return out
if __name__=='__main__':
    for jd in sorted(glob.glob(os.path.join(sys.argv[1], '*/'))):
        o=stalls(jd)
        for k,v in o.items(): print(jd,k,v)
