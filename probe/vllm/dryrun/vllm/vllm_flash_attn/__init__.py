CALLS = []
def flash_attn_varlen_func(q, k, v, out, cu_seqlens_q, max_seqlen_q, seqused_k, max_seqlen_k, softmax_scale, causal, block_table, fa_version):
    bt = block_table.a
    b = q.shape[0]
    assert bt.shape[0] == b, (bt.shape, b)
    assert bt.max() < k.shape[0] and bt.min() >= 0, (bt.max(), k.shape)
    assert bt.shape[1] * k.shape[1] >= max_seqlen_k
    assert (seqused_k.a == max_seqlen_k).all()
    CALLS.append((b, k.shape[0], int(bt.max()), len(set(bt.ravel().tolist()))))
