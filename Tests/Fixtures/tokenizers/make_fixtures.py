#!/usr/bin/env python3
"""Makes moesim's tokenizer test fixtures with the Hugging Face `tokenizers` package.

    pip install tokenizers==0.23.3 sentencepiece      # sentencepiece only checks the real Mistral tokenizer
    python3 Tests/Fixtures/tokenizers/make_fixtures.py [path/to/mistral_common/data/tokenizer.model.v1]

Writes, beside this script:
  texts.json           the test texts (a few hundred: English, code, numbers, Unicode, emoji, whitespace, CJK, ...)
  <name>.tokenizer.json tokenizers trained here on a synthetic corpus, laid out as real models' files are
                       (byte-level BPE as Llama 3, Qwen2, GPT-2 and gpt-oss; Metaspace BPE as Mistral/Mixtral, old and
                       new layout), and mistral-7b-v0.1.tokenizer.json, converted from Mistral AI's SentencePiece model
                       tokenizer.model.v1 (Mistral-7B-v0.1 and Mixtral-8x7B's tokenizer, Apache-2.0, shipped in the PyPI
                       package mistral-common) when its path is given
  ../datasets/sharegpt-sample.json     a synthetic ShareGPT file (generated sentences, no real conversations)
  ../datasets/sharegpt-expected.json   (prompt_len, output_len) of the requests vLLM 0.24's ShareGPTDataset.sample
                       picks from it with --disable-shuffle, counted by the tokenizers package; and (added by
                       `make_fixtures.py --shuffled-sharegpt`, CPython 3.11's random) its picks shuffled and
                       oversampled as `vllm bench serve --seed 0` and `--seed 7` make them
  expected.json        for each tokenizer and text: the token count and an FNV-1a hash of the ids that
                       Tokenizer.encode(text) gives (add_special_tokens=True, as vLLM's benchmark counts), and the count
                       without special tokens
The texts, the corpus and the ShareGPT sample are seeded. BPE training may break ties between equally frequent pairs
differently from run to run, so a rerun can change the trained tokenizers; expected.json is always written with them.
"""
import json, os, random, sys, unicodedata
from tokenizers import Tokenizer, Regex, AddedToken, models, pre_tokenizers, normalizers, decoders, processors, trainers

HERE = os.path.dirname(os.path.abspath(__file__))

# Pre-tokenizer patterns exactly as the models' own tokenizer.json files spell them.
GPT2 = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
LLAMA3 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
QWEN2 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
O200K = (r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|"
         r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|"
         r"\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+")

WORDS = ("the of and to in is that it for was on are as with his they at be this from have or by one had not but what all "
         "were when we there can an your which their said if do will each about how up out them then she many some so these "
         "would other into has more her two like him see time could no make than first been its who now people my made over "
         "did down only way find use may water long little very after words called just where most know get through back "
         "much before go good new write our used me man too any day same right look think also around another came come "
         "work three word must because does part even place well such here take why things help put years different away "
         "again off went old number great tell men say small every found still between name should home big give air line "
         "set own under read last never us left end along while might next sound below saw something thought both few those "
         "always looked show large often together asked house don't world going want school important until form food keep "
         "children feet land side without boy once animals life enough took sometimes four head above kind began almost live "
         "page got earth need far hand high year mother light parts country father let night following picture being study "
         "second eyes soon times story boys since white days ever paper hard near sentence better best across during today "
         "others however sure means knew it's try told young miles sun ways thing whole hear example heard several change "
         "answer room sea against top turned learn point city play toward five using himself usually GPU tensor parallel "
         "expert routing throughput latency kernel batch token prefill decode cache memory bandwidth scheduler request").split()
CODE = [
    "def f(x):\n    return x * 2\n",
    "for (int i = 0; i < n; ++i) {\n\tsum += a[i];\n}\n",
    "let xs = [1, 2, 3].map { $0 * $0 }\nprint(xs)\n",
    "SELECT name, COUNT(*) FROM users WHERE age >= 18 GROUP BY name;",
    "{\"model\": \"mixtral-8x7b\", \"tp\": 2, \"ep\": true, \"rate\": 3.5}",
    "if __name__ == \"__main__\":\n    main(sys.argv[1:])\n",
    "#include <stdio.h>\nint main(void) { printf(\"%d\\n\", 42); return 0; }\n",
    "    x += 1  # increment\n        y -= 2\n",
    "<div class=\"row\"><span id='a'>Hello</span></div>",
    "git commit -m 'Fix: handle CRLF\\r\\n in traces' && git push origin main",
    "fn main() -> Result<(), Box<dyn Error>> { Ok(()) }",
    "const f = async (a, b) => { await g(a ?? b); };",
    "λx. x + 1 ≠ x; ∀ε>0 ∃δ>0: |x−y|<δ ⇒ |f(x)−f(y)|<ε",
    "https://example.com/path/to/file.json?q=1&r=two#frag",
    "/usr/local/bin/moesim run --model olmoe-1b-7b --num-prompts 50",
]
UNICODE = ["café", "cafe\u0301", "naïve résumé", "Straße", "İstanbul ıi", "ÅÄÖ åäö", "Ελληνικά γράμματα", "Привет, мир!",
           "Ünïcödé Ωmega", "ﬁnance ﬂow", "ǅemal", "x² + y³ = z⁴", "½ ¼ ¾", "Ⅻ ⅻ", "e\u0301e\u0301e\u0301", "\u212b ANGSTROM",
           "\u00c5 vs A\u030a", "ḱṷṓn", "o\u0308\u0301", "\ufb01\ufb02"]
EMOJI = ["😀", "👩‍💻", "🇫🇷🇩🇪", "👍🏽", "❤️", "🤖 robots 🤖🤖", "🧑‍🤝‍🧑", "😂😂😂 lol", "✅ done ❌ failed", "🎉🎉",
         "☕️ coffee", "🏳️‍🌈", "1️⃣2️⃣", "👨‍👩‍👧‍👦 family", "🙂🙃"]
CJK = ["你好，世界！", "今天天气很好。我们去公园散步吧。", "東京は日本の首都です。", "ひらがなとカタカナ", "한국어 텍스트입니다",
       "混合 mixed テキスト text 텍스트", "机器学习模型的推理服务", "（全角括号）「引用」", "ｆｕｌｌｗｉｄｔｈ　ｌｅｔｔｅｒｓ", "中文123数字４５６",
       "大規模言語モデル", "专家混合模型（MoE）在GPU集群上的推理"]
OTHER = ["مرحبا بالعالم", "שלום עולם", "नमस्ते दुनिया", "สวัสดีชาวโลก", "Tiếng Việt có dấu", "ქართული", "Հայերեն", "ᚠᚢᚦᚨᚱᚲ",
         "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕞𝕒𝕥𝕙", "٣٤٥ ۱۲۳", "১২৩ ௧௨௩"]
WHITESPACE = ["  two leading", "trailing  ", "a  b   c    d", "\tTabbed\tline\t", "line1\nline2\n\nline4", "crlf\r\nline\r\n",
              "\n\n\n", "   ", " ", "\t", "nbsp\u00a0here", "ideographic\u3000space", "line\u2028sep", "vertical\x0btab",
              "next\x85line", "form\x0cfeed", "mixed \t \n \r\n  end", "    indented\n        more\n", "a\n \n b", "x \n", "end\n"]
SPECIAL = ["<s>", "</s> after", "before <s> middle </s>", "<unk>", "<|begin_of_text|>Hello", "<|endoftext|>",
           "<|im_start|>user\nHi<|im_end|>", "<|start|>assistant<|message|>ok<|end|>", "<s><s>", "text<|eot_id|>"]
EDGE = ["", "a", "A", "'", "'s", "I'M HE'S they'll WE'D you've", "it's John's dog's", "\x00", "\x07bell", "@@@@", "....",
        "!!!???", "-- -- --", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "1234567890123456789",
        "3.14159265358979", "1,000,000", "2024-01-15T08:30:00Z", "+1 (555) 123-4567", "0xDEADBEEF", "$19.99 €5 £3 ¥100",
        "ABCdefGHI", "camelCaseIdentifier", "snake_case_identifier", "SCREAMING_CASE", "end.", "'quoted'", "\"double\"",
        "don't", "DON'T", "l'été", "rock 'n' roll"]


def sentence(rng, n):
    ws = [rng.choice(WORDS) for _ in range(n)]
    if rng.random() < 0.5:
        ws[0] = ws[0].capitalize()
    s = " ".join(ws)
    return s + rng.choice([".", "!", "?", ",", ":", ";", "", "..."])


def texts():
    rng = random.Random(24)
    out = []
    out += [sentence(rng, rng.randint(3, 30)) for _ in range(70)]
    out += CODE + [rng.choice(CODE) + rng.choice(CODE) for _ in range(15)]
    out += [str(rng.randint(0, 10 ** rng.randint(1, 15))) for _ in range(12)]
    out += [f"{rng.uniform(-1e4, 1e4):.{rng.randint(0, 6)}f}" for _ in range(8)]
    out += UNICODE + EMOJI + CJK + OTHER + WHITESPACE + SPECIAL + EDGE
    pool = WORDS + UNICODE + EMOJI + CJK + OTHER + ["\n", "  ", "\t", "123", "4567", "'s", "'LL", ".", ",", "!"]
    for _ in range(60):  # mixtures
        out.append("".join(rng.choice(pool) + rng.choice(["", " ", " ", "\n", "  "]) for _ in range(rng.randint(2, 25))))
    for _ in range(6):  # long texts, as ShareGPT's prompts are
        out.append("\n\n".join(sentence(rng, rng.randint(20, 60)) for _ in range(rng.randint(5, 12))) + "\n" + rng.choice(CODE))
    return out


def corpus():
    rng = random.Random(7)
    lines = [sentence(rng, rng.randint(5, 40)) for _ in range(6000)]
    lines += [rng.choice(CODE) for _ in range(800)]
    lines += ["".join(rng.choice(CJK + UNICODE + EMOJI + OTHER) for _ in range(rng.randint(1, 6))) for _ in range(600)]
    lines += [" ".join(str(rng.randint(0, 10 ** 6)) for _ in range(rng.randint(1, 8))) for _ in range(300)]
    return lines


def byte_level(name, pattern, specials, bos=None, nfc=False, ignore_merges=False, legacy_merges=False, vocab=3000):
    tok = Tokenizer(models.BPE(ignore_merges=ignore_merges))
    if nfc:
        tok.normalizer = normalizers.NFC()
    if pattern is None:  # GPT-2: the ByteLevel pre-tokenizer's own regex
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    else:
        tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(pattern), behavior="isolated"),
                                                     pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(corpus(), trainer)
    if bos:
        tok.post_processor = processors.Sequence([processors.ByteLevel(trim_offsets=False),
                                                  processors.TemplateProcessing(single=f"{bos}:0 $A:0", pair=f"{bos}:0 $A:0 {bos}:1 $B:1",
                                                                                special_tokens=[(bos, tok.token_to_id(bos))])])
    else:
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
    # A normal (non-special) added token, as chat models add for tool and role markers.
    tok.add_tokens([AddedToken("<|user|>", normalized=False)])
    j = json.loads(tok.to_str())
    if legacy_merges:  # older files spell each merge "a b" (tokenizers < 0.20)
        j["model"]["merges"] = [" ".join(m) for m in j["model"]["merges"]]
    return name, j


def metaspace(name, legacy, vocab=2500):
    """Mistral/Llama-2 style: byte fallback, <s> prepended; old layout (Prepend/Replace normalizer) or new (Metaspace)."""
    specials = ["<unk>", "<s>", "</s>"]
    tok = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=False)
    # Leave rare characters out of the alphabet so that byte fallback has work to do.
    trainer = trainers.BpeTrainer(vocab_size=vocab, special_tokens=specials, limit_alphabet=180, show_progress=False)
    tok.train_from_iterator(corpus(), trainer)
    j = json.loads(tok.to_str())
    old = j["model"]["vocab"]
    order = specials + [f"<0x{b:02X}>" for b in range(256)] + [t for t, _ in sorted(old.items(), key=lambda kv: kv[1]) if t not in specials]
    j["model"]["vocab"] = {t: i for i, t in enumerate(order)}
    for a in j["added_tokens"]:
        a["id"] = j["model"]["vocab"][a["content"]]
    tok = Tokenizer.from_str(json.dumps(j))
    if legacy:
        tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
        tok.pre_tokenizer = None
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)])
    tok.post_processor = processors.TemplateProcessing(single="<s>:0 $A:0", pair="<s>:0 $A:0 <s>:1 $B:1", special_tokens=[("<s>", 1)])
    return name, json.loads(tok.to_str())


def mistral_v1(path):
    """Mistral-7B-v0.1 / Mixtral-8x7B's tokenizer.json as transformers' LlamaConverter writes it (the hub's layout)."""
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2 as pb
    m = pb.ModelProto()
    m.ParseFromString(open(path, "rb").read())
    vocab = {p.piece: i for i, p in enumerate(m.pieces)}
    scores = {p.piece: p.score for p in m.pieces}
    merges = []
    for piece in vocab:  # transformers' SentencePieceExtractor: every split into two pieces, ranked by the piece's score
        local = [(piece[:k], piece[k:], scores[piece]) for k in range(1, len(piece)) if piece[:k] in vocab and piece[k:] in vocab]
        merges += sorted(local, key=lambda x: (vocab[x[0]], vocab[x[1]]))
    merges = [(a, b) for a, b, _ in sorted(merges, key=lambda v: v[2], reverse=True)]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", fuse_unk=True, byte_fallback=True))
    tok.add_special_tokens([AddedToken(t, normalized=False, special=True) for t in ["<unk>", "<s>", "</s>"]])
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)])
    tok.post_processor = processors.TemplateProcessing(single="<s>:0 $A:0", pair="<s>:0 $A:0 <s>:1 $B:1", special_tokens=[("<s>", 1)])
    sp = spm.SentencePieceProcessor(model_file=path)
    return tok, sp


def fnv(ids):
    h = 0xcbf29ce484222325
    for i in ids:
        for b in int(i).to_bytes(4, "little"):
            h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def main():
    ts = texts()
    with open(os.path.join(HERE, "texts.json"), "w", encoding="utf-8") as f:
        json.dump(ts, f, ensure_ascii=False, indent=0)
    made = [
        byte_level("llama3-style", LLAMA3, ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"], bos="<|begin_of_text|>", ignore_merges=True),
        byte_level("qwen2-style", QWEN2, ["<|endoftext|>", "<|im_start|>", "<|im_end|>"], nfc=True),
        byte_level("gpt2-style", None, ["<|endoftext|>"], legacy_merges=True, vocab=2000),
        byte_level("gptoss-style", O200K, ["<|startoftext|>", "<|endoftext|>", "<|start|>", "<|end|>", "<|message|>"]),
        metaspace("mistral-legacy-style", legacy=True),
        metaspace("mistral-metaspace-style", legacy=False),
    ]
    expected = {}
    for name, j in made:
        with open(os.path.join(HERE, f"{name}.tokenizer.json"), "w", encoding="utf-8") as f:
            json.dump(j, f, ensure_ascii=False, separators=(",", ":"))
        expected[name] = encode_all(Tokenizer.from_file(os.path.join(HERE, f"{name}.tokenizer.json")), ts)
    if len(sys.argv) > 1:
        tok, sp = mistral_v1(sys.argv[1])
        out = os.path.join(HERE, "mistral-7b-v0.1.tokenizer.json")
        with open(out, "w", encoding="utf-8") as f:
            f.write(json.dumps(json.loads(tok.to_str()), ensure_ascii=False, separators=(",", ":")))
        tok = Tokenizer.from_file(out)
        expected["mistral-7b-v0.1"] = encode_all(tok, ts)
        same = sum(1 for t in ts if tok.encode(t).ids == [1] + sp.encode(t))
        print(f"mistral-7b-v0.1: tokenizers agrees with sentencepiece (+<s>) on {same}/{len(ts)} texts")
    ds = os.path.join(os.path.dirname(HERE), "datasets")
    os.makedirs(ds, exist_ok=True)
    entries = sharegpt_sample()
    with open(os.path.join(ds, "sharegpt-sample.json"), "w", encoding="utf-8") as f:
        json.dump(entries, f, ensure_ascii=False, separators=(",", ":"))
    exp = {}
    for name in ["llama3-style", "mistral-7b-v0.1"]:
        path = os.path.join(HERE, f"{name}.tokenizer.json")
        if os.path.exists(path):
            tok = Tokenizer.from_file(path)
            exp[name] = {"num_prompts_50": sharegpt_expected(tok, entries, 50), "num_prompts_500": sharegpt_expected(tok, entries, 500),
                         "sharegpt_output_len_7": sharegpt_expected(tok, entries, 50, output_len=7)}
    with open(os.path.join(ds, "sharegpt-expected.json"), "w", encoding="utf-8") as f:
        json.dump(exp, f)
    with open(os.path.join(HERE, "expected.json"), "w", encoding="utf-8") as f:
        json.dump({"tokenizers_version": __import__("tokenizers").__version__, "expected": expected}, f, indent=1)
    for k, v in expected.items():
        print(k, sum(e[0] for e in v), "tokens over", len(v), "texts")


def sharegpt_sample():
    """A synthetic ShareGPT file (no real conversations): entries vLLM keeps and ones its filters drop."""
    rng = random.Random(2024)
    entries = []
    for i in range(100):
        kind = rng.random()
        def para(a, b):
            return "\n\n".join(sentence(rng, rng.randint(a, b)) for _ in range(rng.randint(1, 4)))
        human, gpt = para(4, 40), para(6, 60)
        if i % 9 == 0:
            human = rng.choice(["hi", "ok", "?", "yes!"])          # prompt under 4 tokens: dropped
        if i % 13 == 0:
            human = " ".join(sentence(rng, 40) for _ in range(26))   # prompt over 1024 tokens: dropped
        if i % 17 == 0:
            gpt = " ".join(sentence(rng, 40) for _ in range(48))     # prompt + output over 2048: dropped
        if i % 7 == 0:
            human += "\n" + rng.choice(CODE) + rng.choice(CJK) + rng.choice(EMOJI)
        conv = [{"from": "human", "value": human}, {"from": "gpt", "value": gpt}]
        if kind < 0.2:
            conv += [{"from": "human", "value": sentence(rng, 8)}, {"from": "gpt", "value": sentence(rng, 20)}]
        e = {"id": f"synthetic-{i}", "conversations": conv}
        if i % 23 == 5:
            e["conversations"] = conv[:1]                             # one turn: dropped
        if i % 29 == 7:
            e = {"id": f"synthetic-{i}"}                              # no conversations: dropped
        entries.append(e)
    return entries


def sharegpt_expected(tok, entries, num_prompts, output_len=None):
    """vLLM 0.24's ShareGPTDataset.sample with --disable-shuffle: (prompt_len, output_len) of each request."""
    out = []
    for e in entries:
        if "conversations" not in e or len(e["conversations"]) < 2:
            continue
        if len(out) >= num_prompts:
            break
        p = len(tok.encode(e["conversations"][0]["value"]).ids)
        o = len(tok.encode(e["conversations"][1]["value"]).ids) if output_len is None else output_len
        if p < 4 or (output_len is None and o < 4) or p > 1024 or p + o > 2048:
            continue
        out.append([p, o])
    return out


def sharegpt_vllm(tok, entries, num_prompts, seed):
    """vLLM 0.24's ShareGPTDataset as `vllm bench serve --seed SEED` runs it: load_data keeps the entries with two or
    more turns, `random.seed(seed)` and `random.shuffle`s them; sample() filters as above; maybe_oversample_requests
    tops up with `random.seed(seed)` then `random.choice` (vllm/benchmarks/datasets/datasets.py)."""
    import random
    data = [e for e in entries if "conversations" in e and len(e["conversations"]) >= 2]
    random.seed(seed)
    random.shuffle(data)
    out = sharegpt_expected(tok, data, num_prompts)
    if len(out) < num_prompts:
        random.seed(seed)
        out += [random.choice(out) for _ in range(num_prompts - len(out))]
    return out


def add_shuffled_sharegpt():
    """Adds the shuffled picks to sharegpt-expected.json (`python3 make_fixtures.py --shuffled-sharegpt`)."""
    ds = os.path.join(os.path.dirname(HERE), "datasets")
    with open(os.path.join(ds, "sharegpt-sample.json"), encoding="utf-8") as f:
        entries = json.load(f)
    with open(os.path.join(ds, "sharegpt-expected.json"), encoding="utf-8") as f:
        exp = json.load(f)
    for name in exp:
        tok = Tokenizer.from_file(os.path.join(HERE, f"{name}.tokenizer.json"))
        exp[name]["shuffled_seed_0_num_prompts_50"] = sharegpt_vllm(tok, entries, 50, 0)
        exp[name]["shuffled_seed_7_num_prompts_200"] = sharegpt_vllm(tok, entries, 200, 7)
    with open(os.path.join(ds, "sharegpt-expected.json"), "w", encoding="utf-8") as f:
        json.dump(exp, f)


def encode_all(tok, ts):
    out = []
    for t in ts:
        ids = tok.encode(t).ids
        out.append([len(ids), fnv(ids), len(tok.encode(t, add_special_tokens=False).ids)])
    return out


if __name__ == "__main__":
    if sys.argv[1:] == ["--shuffled-sharegpt"]:
        add_shuffled_sharegpt()
    else:
        main()
