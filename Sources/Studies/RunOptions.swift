import Foundation
import SimKit
import Cluster
import Serving

/// The options shared by `run`, `explain`, `sweep` and the measured-run manifests: a deployment and a workload.
public enum RunOptions {
    public static let deployment: [OptionSpec] = [
        OptionSpec("--model", "<name|config.json>", "A shipped model profile or a Hugging Face config.json."),
        OptionSpec("--gpu", "<name|file>", "GPU profile.", default: "a100-sxm4-80gb"),
        OptionSpec("--interconnect", "<name|file>", "Interconnect profile (default: the shipped one for the GPU and GPU count)."),
        OptionSpec("--strategy", "<strategy>", "The paper's named plan: baseline, tp, ep or hybrid (expands to the flags below; 1, 2, 2 and 4 GPUs unless --num-gpus)."),
        OptionSpec("--num-gpus", "<n>", "With --strategy: its GPU count (tp: TP n; ep: TP1 x DP n with EP; hybrid: TP2 x DP n/2 with EP).", default: "the strategy's: 1, 2, 2, 4"),
        OptionSpec("--tensor-parallel-size", "<n>", "Tensor parallel size (vLLM -tp).", default: "1"),
        OptionSpec("--data-parallel-size", "<n>", "Data parallel size (vLLM -dp).", default: "1"),
        OptionSpec("--pipeline-parallel-size", "<n>", "Pipeline parallel size (vLLM -pp): the layers split into stages of TP x DP GPUs each, up to PP batches in flight (vllm engine only).", default: "1"),
        OptionSpec("--enable-expert-parallel", nil, "Spread the experts whole over TP x DP GPUs instead of splitting each over them (vLLM's default: every expert sharded over all TP x DP GPUs)."),
        OptionSpec("--all2all-backend", "<backend>", "EP token exchange, vLLM's names: naive, allgather_reducescatter, pplx, deepep_high_throughput, deepep_low_latency (allreduce = naive, alltoall = pplx).", default: "the engine profile's with DP above 1 (vllm, as vLLM 0.24: allgather_reducescatter; profiles without one: pplx)"),
        OptionSpec("--enable-eplb", nil, "vLLM's expert-parallel load balancer: replicate and repack experts by their observed load."),
        OptionSpec("--num-redundant-experts", "<n>", "EPLB: extra expert replicas per MoE layer.", default: "0"),
        OptionSpec("--quantization", "<method>", "Weight quantization, vLLM's names: fp8, mxfp4, awq, gptq, compressed-tensors.", default: "the config's quantization_config, else bf16"),
        OptionSpec("--kv-cache-dtype", "<dtype>", "KV cache element type: auto, bfloat16, fp8, fp8_e4m3, fp8_e5m2.", default: "auto"),
        OptionSpec("--gpus-per-node", "<n>", "GPUs per node; a plan over more GPUs spans nodes joined by --network.", default: "8"),
        OptionSpec("--data-parallel-size-local", "<n>", "vLLM: DP ranks per node (sets GPUs per node = this x TP x PP)."),
        OptionSpec("--network", "<name|file>", "Network between nodes (profiles/networks).", default: "the shipped one for the GPU"),
        OptionSpec("--expert-placement", "<file>", "JSON expert-to-GPU placement (replicas allowed).", default: "contiguous blocks"),
        OptionSpec("--routing", "<spec>", "uniform, zipf:S, dirichlet:A, histogram:FILE or trace:FILE.", default: "uniform"),
        OptionSpec("--engine", "<engine>", "vllm (continuous batching) or hf (Transformers generate, static batch).", default: "vllm"),
        OptionSpec("--engine-profile", "<name|file>", "Engine profile.", default: "the engine's name"),
        OptionSpec("--max-num-seqs", "<n>", "vLLM: sequences per step.", default: "from the engine profile"),
        OptionSpec("--max-num-batched-tokens", "<n>", "vLLM: token budget per step (chunked prefill).", default: "from the engine profile"),
        OptionSpec("--gpu-memory-utilization", "<f>", "Fraction of GPU memory the engine may use.", default: "the engine profile's (vllm: 0.92, vLLM 0.24's)"),
        OptionSpec("--performance-mode", "<mode>", "vLLM: balanced, interactivity (CUDA graphs captured at every size up to 32 tokens: less padding for small batches) or throughput (the default max_num_seqs and max_num_batched_tokens doubled).", default: "balanced"),
        OptionSpec("--enable-chunked-prefill", nil, "vLLM: split long prompts across steps (vLLM 0.24's default)."),
        OptionSpec("--no-enable-chunked-prefill", nil, "vLLM: admit a waiting prompt only whole within the step's token budget (the default budget is then at least max_model_len)."),
        OptionSpec("--max-model-len", "<n>", "vLLM: the longest request (prompt + output) the engine takes, as vLLM reads it (32768, 32k, 32K); -1 or auto: the longest the KV cache holds one request of. vLLM refuses to start when the KV cache cannot hold one such request; moesim says so.", default: "the model's max_position_embeddings"),
        OptionSpec("--experts-impl", "<impl>", "hf: Transformers experts implementation: eager, batched_mm or grouped_mm.", default: "from the engine profile"),
        OptionSpec("--enable-prefix-caching", nil, "vLLM: share hashed KV blocks across requests with the same prefix (LRU eviction); on by default in the vllm profile (vLLM >= 0.10)."),
        OptionSpec("--no-enable-prefix-caching", nil, "vLLM: turn prefix caching off."),
        OptionSpec("--usage-context", "<context>", "vLLM: serve (`vllm serve` driven by a benchmark client) or offline (the LLM class with every request submitted at once, as `vllm bench throughput`); vLLM's batch defaults differ between the two.", default: "serve"),
        OptionSpec("--enforce-eager", nil, "vLLM: no torch.compile and no CUDA graphs."),
        OptionSpec("--max-cudagraph-capture-size", "<n>", "vLLM: the largest batch (tokens) captured in a CUDA graph (vLLM's compilation_config max_cudagraph_capture_size, or the largest of its cudagraph_capture_sizes); larger steps run without graphs.", default: "vLLM 0.24's: min(2 x max_num_seqs, 512), 1024 for gpt-oss, within the token budget"),
        OptionSpec("--temperature", "<t>", "vLLM: the requests' sampling temperature, as `vllm bench serve --temperature`; 0 is greedy. Prices the sampler's GPU work over the logits (measured on an H200: greedy 20, temperature 75, with top-k/top-p 153 bytes a logit).", default: "1, as `vllm bench throughput` sends"),
        OptionSpec("--top-k", "<k>", "vLLM: the requests' top-k (-1 or 0: off); with --temperature above 0, top-k sampling's sorting kernel is priced.", default: "off"),
        OptionSpec("--top-p", "<p>", "vLLM: the requests' top-p in (0, 1] (1: off); with --temperature above 0, below 1 prices top-p sampling's sorting kernel.", default: "1"),
        OptionSpec("--async-scheduling", nil, "vLLM: schedule the next step while the current one runs on the GPU (the vllm profile's default)."),
        OptionSpec("--no-async-scheduling", nil, "vLLM: turn async scheduling off (host time adds to GPU time)."),
        OptionSpec("--host-speed", "<s>", "vLLM: how fast this host runs the engine's Python: the workload_geomean_s that `python3 probe/vllm/hostspeed.py --seconds 30` prints on it (half a minute, no GPU needed; the speed of a shared or virtual host moves within seconds); every host cost scales by (s / the engine profile's host_speed_reference_s)^host_speed_exponent.", default: "the profile's reference host"),
        OptionSpec("--warm-token-counts", "<n,n,...|all>", "vLLM: what this engine ran before the run (an earlier benchmark on the same server, a warm-up): token counts of its steps without CUDA graphs, or `all`. vLLM compiles its Triton MoE kernels (the fused MoE of bf16 experts, gpt-oss's MXFP4 routing and expert GEMMs) for each configuration on first use after start-up, and the step that needs one waits for the compile (about a second); the counts given, and `all`, are taken as compiled. Triton keeps its compiles on disk: an engine that loaded vLLM's compiled model (any but the first of its configuration on the host) or runs --enforce-eager finds there what earlier such engines on the host ran, so give their counts too; the first engine of a configuration finds none of it (the compiles of MoE kernels it and the others made are kept apart). A `moesim run` that waited for a compile also prints the same run with every size compiled (note: warm engine).", default: "a fresh engine: only what start-up ran"),
        OptionSpec("--host-cost-scale", "<x>", "vLLM what-if: every host cost of the engine (scheduling, the launches of steps without CUDA graphs, request and output handling) times x, on top of --host-speed: a host x times as slow as the profile's. Without it, a host-bound `moesim run` also prints the run at the ends of the spread measured across real H200 and H100 hosts.", default: "1"),
        OptionSpec("--replicas", "<n>", "vLLM: N engine instances of this plan behind a router, on one event queue.", default: "1"),
        OptionSpec("--router", "<policy>", "With several instances: round_robin, least_outstanding or prefix_aware.", default: "least_outstanding"),
        OptionSpec("--prefill-instances", "<x>", "Disaggregated prefill/decode (xPyD): x prefill instances (the decode instances use the plan above).", default: "none (aggregated)"),
        OptionSpec("--decode-instances", "<y>", "Disaggregated: y decode instances.", default: "1"),
        OptionSpec("--prefill-tensor-parallel-size", "<n>", "Disaggregated: the prefill instances' tensor parallel size (their DP, PP, EP and nodes are the decode instances').", default: "the decode instances'"),
        OptionSpec("--kv-transfer-bandwidth-gbps", "<GB/s>", "Disaggregated: KV transfer bandwidth per GPU, prefill to decode (each GPU moves the larger of its prefill shard and its decode shard).", default: "the interconnect's link bandwidth when a prefill and a decode instance fit one node, else each GPU's share of the network's NICs"),
        OptionSpec("--kv-transfer-latency-us", "<us>", "Disaggregated: fixed latency per KV transfer.", default: "0"),
        OptionSpec("--speculative-config", "<json>", "vLLM: speculative decoding, e.g. '{\"method\":\"eagle\",\"num_speculative_tokens\":3,\"acceptance_rate\":0.7}' (method eagle, eagle3, mtp, deepseek_mtp, ngram or draft_model with \"model\"; acceptance_rate a number or one per position)."),
    ]
    public static let workload: [OptionSpec] = [
        OptionSpec("--first-step-requests", "<n>", "vLLM offline: how many requests vLLM's first step holds. LLM.generate hands the requests to the engine core one by one, and the core schedules its first step with those it has received by then (different every run: 3 or 4 at the median of the measured H200 and H100 runs of several requests, at times all of them); the rest join from the second step. The later steps' sizes, and which of them meet a kernel start-up did not compile (a one-off wait of about a second), follow from it; a run's step trace shows it. Without it, an offline `moesim run` also reruns the prediction at each count of the draw the engine profile states (first_step_draw) and notes the range of wall times and the chance of such a wait.", default: "all: every request at the first step"),
        OptionSpec("--dataset-name", "<name>", "vLLM's datasets random, sharegpt, custom, burstgpt, prefix_repetition; or trace (with --trace). See docs/datasets.md.", default: "random"),
        OptionSpec("--dataset-path", "<file>", "sharegpt: the ShareGPT JSON; custom: a JSONL of {\"prompt\": ...}; burstgpt: the BurstGPT CSV."),
        OptionSpec("--tokenizer", "<file|dir|repo>", "A Hugging Face tokenizer.json, its folder, or a repo id in the local Hugging Face cache: prompts are counted with it (moesim's own BPE reader).", default: "tokenizer.json beside a --model config.json, else estimated counts"),
        OptionSpec("--sharegpt-output-len", "<n>", "sharegpt: output tokens per request instead of the reply's length."),
        OptionSpec("--custom-output-len", "<n>", "custom: output tokens per request; -1 reads each line's output_tokens.", default: "256"),
        OptionSpec("--skip-chat-template", nil, "custom: count the bare prompts (moesim never applies the chat template; without this flag it warns)."),
        OptionSpec("--prefix-repetition-prefix-len", "<n>", "prefix_repetition: tokens of each shared prefix.", default: "256"),
        OptionSpec("--prefix-repetition-suffix-len", "<n>", "prefix_repetition: tokens after the prefix.", default: "256"),
        OptionSpec("--prefix-repetition-num-prefixes", "<n>", "prefix_repetition: distinct prefixes; each gets num-prompts / this requests.", default: "10"),
        OptionSpec("--prefix-repetition-output-len", "<n>", "prefix_repetition: output tokens per request.", default: "128"),
        OptionSpec("--disable-shuffle", nil, "sharegpt, custom, prefix_repetition: keep the file's (or generation) order."),
        OptionSpec("--no-oversample", nil, "sharegpt, custom: send only the usable entries when there are fewer than --num-prompts."),
        OptionSpec("--random-input-len", "<n>", "Input tokens per request (less the tokenizer's special tokens, as vLLM).", default: "1024"),
        OptionSpec("--random-output-len", "<n>", "Output tokens per request.", default: "128"),
        OptionSpec("--random-range-ratio", "<r>", "Lengths uniform in [floor(X(1-r)), ceil(X(1+r))]; or JSON {\"input\": r, \"output\": r}.", default: "0.0"),
        OptionSpec("--random-prefix-len", "<n>", "Tokens of one shared prefix before every random prompt (vLLM's flag).", default: "0"),
        OptionSpec("--num-prompts", "<n>", "Requests to send.", default: "1000"),
        OptionSpec("--max-concurrency", "<n>", "Requests in flight at most (closed loop).", default: "unbounded"),
        OptionSpec("--request-rate", "<r>", "Requests per second, or inf to send all at once.", default: "inf"),
        OptionSpec("--burstiness", "<b>", "Gamma shape of arrival gaps (1 = Poisson). The gaps are vLLM 0.24's own: NumPy's generator seeded with --seed, scaled so the last request goes at num-prompts / rate.", default: "1.0"),
        OptionSpec("--ramp-up-strategy", "<s>", "linear or exponential: the request rate climbs from --ramp-up-start-rps (first request) to --ramp-up-end-rps (last), instead of --request-rate (vLLM's flags)."),
        OptionSpec("--ramp-up-start-rps", "<n>", "With --ramp-up-strategy: the first request's rate (req/s, a whole number, as vLLM)."),
        OptionSpec("--ramp-up-end-rps", "<n>", "With --ramp-up-strategy: the last request's rate (req/s, a whole number)."),
        OptionSpec("--trace", "<file>", "Replay a CSV/JSONL trace (Azure, BurstGPT, Splitwise, apex layouts)."),
        OptionSpec("--trace-limit", "<n>", "Replay only the first N requests of the trace."),
        OptionSpec("--trace-time-scale", "<f>", "Multiply trace arrival times by f (0.5 = twice the rate).", default: "1.0"),
        OptionSpec("--seed", "<n>", "Random seed (workload, routing).", default: "0"),
        // Static-batch engine (hf) and diffusion.
        OptionSpec("--batch-size", "<n>", "hf: static batch size. vllm: with --input-len and --output-len, runs vllm bench latency (one offline batch, repeated; prefix caching off unless --enable-prefix-caching, as vLLM runs it).", default: "hf 1, vllm 8"),
        OptionSpec("--input-len", "<n>", "hf: prompt tokens per sequence; vllm bench latency: the prompts' tokens.", default: "hf 128, vllm 32"),
        OptionSpec("--output-len", "<n>", "hf: generated tokens per sequence (autoregressive); vllm bench latency: the outputs' tokens.", default: "hf 64, vllm 128"),
        OptionSpec("--num-iters-warmup", "<n>", "vllm bench latency: warm-up iterations (with --enable-prefix-caching, any above 0 leaves the prompts cached for every measured one; vLLM's latency benchmark runs with prefix caching off).", default: "10"),
        OptionSpec("--num-iters", "<n>", "vllm bench latency: measured iterations (simulated ones are identical).", default: "30"),
        OptionSpec("--generation", "<kind>", "autoregressive or diffusion.", default: "the model's"),
        OptionSpec("--diffusion-steps", "<n>", "Diffusion: denoising steps in total.", default: "128"),
        OptionSpec("--gen-length", "<n>", "Diffusion: generated positions.", default: "128"),
        OptionSpec("--block-length", "<n>", "Diffusion: semi-autoregressive block length.", default: "the generation length"),
        OptionSpec("--cfg", nil, "Diffusion: classifier-free guidance (doubles the batch)."),
        OptionSpec("--expert-reuse", "<f>", "Diffusion what-if: fraction of expert work reused across denoising steps.", default: "0"),
    ]

    public static let output: [OptionSpec] = [
        OptionSpec("--json", nil, "Print one JSON object with the benchmark's key names."),
        OptionSpec("--save-result", "[<file>]", "Also write the JSON result to a file (an existing file is replaced, with a note; never an input file). Without a file, as vLLM: --result-filename, or vLLM's name in --result-dir."),
        OptionSpec("--result-dir", "<dir>", "With a bare --save-result: the folder for vLLM's file name ({backend}-{rate}qps[-concurrency{n}]-{model}.json, no date).", default: "."),
        OptionSpec("--result-filename", "<file>", "With a bare --save-result: the file name (in --result-dir)."),
        OptionSpec("--html", "<file>", "Also write a self-contained HTML report (summary, latency percentiles, step-time breakdown)."),
        OptionSpec("--save-detailed", nil, "Add vLLM's per-request arrays to the JSON: input_lens, output_lens, ttfts, itls (seconds), generated_texts, errors."),
        OptionSpec("--percentile-metrics", "<list>", "Comma-separated metrics to report percentiles of: ttft, tpot, itl, e2el.", default: "ttft,tpot,itl,e2el"),
        OptionSpec("--metric-percentiles", "<list>", "Comma-separated percentiles, e.g. 25,50,99.9.", default: "99"),
        OptionSpec("--goodput", "<metric:ms> ...", "Service-level objectives (ttft, tpot, e2el in ms, e.g. ttft:500 tpot:50); adds request_goodput (req/s meeting all)."),
        OptionSpec("--timeline", "<file>", "Write the simulation as a Chrome trace / Perfetto JSON: engine steps per GPU with their components, request lifetimes."),
    ]

    /// `vllm bench serve` flags that cannot change a simulation: `run` (and `plan`) accept them, and say once on
    /// stderr that they were ignored (`clientNote`). `--ignore-eos` is how moesim always runs (every request generates
    /// all its requested tokens), so it is accepted without a note.
    public static let clientNoOps: [OptionSpec] = [
        OptionSpec("--endpoint", "<path>", "vllm bench serve: the API path; accepted and ignored."),
        OptionSpec("--host", "<host>", "vllm bench serve: the server's host; accepted and ignored."),
        OptionSpec("--port", "<port>", "vllm bench serve: the server's port; accepted and ignored."),
        OptionSpec("--base-url", "<url>", "vllm bench serve: the server's URL; accepted and ignored."),
        OptionSpec("--served-model-name", "<name>", "vllm bench serve: the model name the server answers to; accepted and ignored."),
        OptionSpec("--disable-tqdm", nil, "vllm bench serve: no progress bar; accepted and ignored."),
        OptionSpec("--ready-check-timeout-sec", "<s>", "vllm bench serve: how long to wait for the server; accepted and ignored."),
        OptionSpec("--trust-remote-code", nil, "vllm bench serve: trust the tokenizer's remote code; accepted and ignored."),
        OptionSpec("--num-warmups", "<n>", "vllm bench serve: warm-up requests before the measured ones; accepted and ignored (moesim's engine starts warm)."),
        OptionSpec("--request-id-prefix", "<text>", "vllm bench serve: the requests' id prefix; accepted and ignored."),
        OptionSpec("--append-result", nil, "vllm bench serve: append to the result file; accepted and ignored (--save-result replaces the file)."),
        OptionSpec("--ignore-eos", nil, "vllm bench serve: generate every requested token; moesim always does, so it changes nothing."),
    ]

    /// `vllm bench serve` flags that name its result file and are recorded in it: `run` does as vLLM does with them;
    /// where no vLLM result file is written (`plan`), they are client no-ops like the others.
    public static let resultNaming: [OptionSpec] = [
        OptionSpec("--backend", "<name>", "vllm bench serve: the HTTP client's API backend (default openai); run's result file records it and is named by it, as vLLM's is."),
        OptionSpec("--label", "<label>", "vllm bench serve: a label for the result, recorded in run's result file and the start of its name (in place of the backend), as vLLM does."),
    ]

    /// The note for `clientNoOps` given (other than `--ignore-eos`), and `also`'s (flags the command has no use for
    /// either), or nil.
    public static func clientNote(_ a: ParsedArguments, also: [OptionSpec] = []) -> String? {
        let given = (clientNoOps + also).map(\.name).filter { $0 != "--ignore-eos" && a.has($0) }
        guard !given.isEmpty else { return nil }
        return "note: \(given.joined(separator: ", ")) accepted and ignored: \(given.count == 1 ? "it" : "they") only concern\(given.count == 1 ? "s" : "") vllm bench serve's HTTP client and server"
            + (given.contains("--trust-remote-code") ? " (--trust-remote-code: loading the tokenizer's code)" : "") + ", not what is simulated"
    }

    /// Flags of a run whose values name files the run reads (or profiles, by name or path).
    public static let fileFlags = ["--model", "--gpu", "--interconnect", "--network", "--engine-profile", "--routing", "--trace",
                                   "--expert-placement", "--speculative-config"]

    /// Loads (or notes) every file that runs with these argument lists read, however named, so that the command's
    /// `FileRegistry` holds them before its outputs are checked: model files and folders, profiles by name or path
    /// with what they name (a GPU profile's kernel tables), routing files, traces, placements and a draft model named
    /// in `--speculative-config`. Errors are left to the runs themselves; each distinct value is loaded once.
    public static func preflight(_ lists: [[String]], store: ProfileStore) {
        guard let registry = FileRegistry.current else { return }
        var seen = Set<String>()
        let fileFlags = Set(self.fileFlags)
        for l in lists {
            // Every value of a file flag (`--flag value` or `--flag=value`), whatever else the list holds.
            var pairs: [(String, String)] = []
            for (i, x) in l.enumerated() {
                if fileFlags.contains(x), i + 1 < l.count { pairs.append((x, l[i + 1])) }
                else if let eq = x.firstIndex(of: "="), fileFlags.contains(String(x[..<eq])) { pairs.append((String(x[..<eq]), String(x[x.index(after: eq)...]))) }
            }
            for (f, v) in pairs {
                guard seen.insert(f + "\u{0}" + v).inserted else { continue }
                switch f {
                case "--model": _ = try? store.model(v)
                case "--gpu": for g in v.split(separator: ",") { _ = try? store.gpu(String(g)) }
                case "--interconnect": _ = try? store.interconnect(v)
                case "--network": _ = try? store.network(v)
                case "--engine-profile": _ = try? store.engine(v)
                case "--routing":
                    switch try? RoutingSpec(parsing: v) {
                    case .histogram(let file)?, .trace(let file)?: registry.noteRead(file)
                    default: break
                    }
                case "--speculative-config": if let m = (try? SpeculativeConfig(json: v))?.model { _ = try? store.model(m) }
                default: registry.noteRead(v)
                }
            }
        }
    }

    /// GPUs per node: --data-parallel-size-local L puts L DP ranks (L x TP x PP GPUs of `plan`) on each node, else
    /// --gpus-per-node (8).
    public static func gpusPerNode(_ a: ParsedArguments, plan: ParallelPlan) throws -> Int {
        var perNode = try a.positiveInt("--gpus-per-node") ?? 8
        if let local = try a.positiveInt("--data-parallel-size-local") {
            if a.has("--gpus-per-node") { throw InputError.usage("'--data-parallel-size-local' sets the GPUs per node (x TP); do not combine it with '--gpus-per-node'") }
            guard local <= plan.dataParallel, plan.dataParallel % local == 0 else {
                throw InputError.usage("--data-parallel-size-local \(local) must divide --data-parallel-size \(plan.dataParallel)")
            }
            perNode = local * plan.tensorParallel * plan.pipelineParallel
        }
        return perNode
    }

    /// The nodes of `perNode` GPUs that `plan` takes, the network between them, and the interconnect within a node.
    /// `checkFlags`: refuse '--network' where the plan fits one node (the main plan; the prefill instances' plan
    /// shares the flags and is built the same way).
    public static func nodes(_ a: ParsedArguments, plan: ParallelPlan, gpu: GPUProfile, perNode: Int, store: ProfileStore,
                             checkFlags: Bool = true) throws -> (ClusterTopology, InterconnectProfile?) {
        var ic: InterconnectProfile? = nil
        var topology = ClusterTopology.singleNode(gpus: plan.gpuCount)
        if plan.gpuCount > perNode {
            guard plan.gpuCount % perNode == 0 else {
                throw InputError.usage("\(plan.gpuCount) GPUs do not fill whole nodes of \(perNode) (--gpus-per-node or --data-parallel-size-local x TP x PP)")
            }
            guard plan.tensorParallel <= perNode, perNode % plan.tensorParallel == 0 else {
                throw InputError.usage("--tensor-parallel-size \(plan.tensorParallel) must fit in and divide a node of \(perNode) GPUs (tensor parallelism across nodes is not modelled)")
            }
            let net = try a.string("--network").map { try store.network($0) } ?? store.defaultNetwork(gpu: gpu.name)
            guard let n = net else {
                throw InputError.usage("\(plan.gpuCount) GPUs span \(plan.gpuCount / perNode) nodes of \(perNode); no shipped network profile lists \(gpu.name): give one with '--network <name|file>' (shipped: \(quotedChoices(store.names("networks"))))")
            }
            topology = ClusterTopology(gpusPerNode: perNode, nodes: plan.gpuCount / perNode, network: n)
        } else {
            // One node; the network profile still holds DeepEP's figures for the deepep backends.
            if checkFlags && a.has("--network") && !(plan.all2allBackend == .deepepLowLatency || plan.all2allBackend == .deepepHighThroughput) {
                throw InputError.usage("'--network' joins nodes; \(plan.gpuCount) GPU(s) fit one node of \(perNode) (raise the GPU count or lower --gpus-per-node)")
            }
            if plan.expertParallel, plan.all2allBackend == .deepepLowLatency || plan.all2allBackend == .deepepHighThroughput {
                topology.network = try a.string("--network").map { try store.network($0) } ?? store.defaultNetwork(gpu: gpu.name)
            }
        }
        let nodeGPUs = min(plan.gpuCount, topology.gpusPerNode)
        if let name = a.string("--interconnect") { ic = try store.interconnect(name) }
        else if nodeGPUs > 1 { ic = try store.defaultInterconnect(gpu: gpu.name, gpus: nodeGPUs) }
        if nodeGPUs > 1 && ic == nil {
            throw InputError.usage("no shipped interconnect profile covers \(nodeGPUs)x \(gpu.name); give one with '--interconnect <name|file>' (shipped: \(quotedChoices(store.names("interconnects"))))")
        }
        return (topology, ic)
    }

    /// Builds the deployment (model, GPU, plan, engine) from parsed options.
    public static func deployment(_ a: ParsedArguments, store: ProfileStore, engineOverride: EngineProfile? = nil) throws -> Deployment {
        guard let modelName = a.string("--model") else { throw InputError.usage("Missing expected argument '--model <name|config.json>'") }
        var model = try store.model(modelName)
        try applyModelWhatIfs(a, to: &model)
        let gpu = try store.gpu(a.string("--gpu") ?? "a100-sxm4-80gb")
        var plan: ParallelPlan
        let backend = try a.choice("--all2all-backend", ParallelPlan.All2AllBackend.accepted).flatMap { ParallelPlan.All2AllBackend(name: $0) }
        if let s = try a.choice("--strategy", ParallelPlan.Strategy.allCases.map(\.rawValue)) {
            for f in ["--tensor-parallel-size", "--data-parallel-size", "--enable-expert-parallel", "--pipeline-parallel-size"] where a.has(f) {
                throw InputError.usage("'--strategy' sets the plan; do not combine it with '\(f)'")
            }
            let strategy = ParallelPlan.Strategy(rawValue: s)!
            plan = try a.positiveInt("--num-gpus").map { try strategy.plan(gpus: $0) } ?? strategy.plan
            if let b = backend { plan.all2allBackend = b }
        } else {
            if a.has("--num-gpus") {
                throw InputError.usage("'--num-gpus' sizes a --strategy (give --strategy tp, ep or hybrid with it, or --tensor-parallel-size / --data-parallel-size)")
            }
            let tp = try a.positiveInt("--tensor-parallel-size") ?? 1
            let dp = try a.positiveInt("--data-parallel-size") ?? 1
            let pp = try a.positiveInt("--pipeline-parallel-size") ?? 1
            guard tp * dp * pp <= Limits.gpus.upperBound else {
                throw InputError.usage("--tensor-parallel-size \(tp) x --data-parallel-size \(dp) x --pipeline-parallel-size \(pp) = \(tp * dp * pp) GPUs; allowed at most \(Limits.gpus.upperBound)")
            }
            plan = ParallelPlan(tp: tp, dp: dp, pp: pp, ep: a.has("--enable-expert-parallel"), backend: backend)
        }
        return try deployment(a, store: store, engineOverride: engineOverride, model: model, gpu: gpu, plan: plan, backend: backend)
    }

    /// A note for stderr when `--strategy` is given without `--num-gpus`: how many GPUs, and which plan, it means.
    public static func strategyNote(_ a: ParsedArguments) -> String? {
        guard let s = a.string("--strategy"), !a.has("--num-gpus"), let st = ParallelPlan.Strategy(rawValue: s) else { return nil }
        let p = st.plan
        return "note: --strategy \(s) means \(p.gpuCount) GPU\(p.gpuCount == 1 ? "" : "s") (\(p.vllmFlags)); give --num-gpus N for another count"
    }

    /// `--quantization` and `--kv-cache-dtype` applied to the model (what `run` and `plan` price).
    public static func applyModelWhatIfs(_ a: ParsedArguments, to model: inout ModelArchitecture) throws {
        if let q = try a.choice("--quantization", Quantization.methods) {
            let want = q.replacingOccurrences(of: "_marlin", with: "")
            if model.quantization.isQuantized {
                guard model.quantization.method == want else {
                    throw InputError.usage("'--quantization \(q)' does not match the checkpoint's quantization_config (quant_method \(model.quantization.method)) of \(model.name)")
                }
            } else if want == "fp8" {
                model.quantization = .fp8(block: nil) // vLLM's online dynamic fp8 of every linear layer
            } else {
                throw InputError.usage("'--quantization \(q)' needs a checkpoint quantized that way (quantization_config with quant_method \(want)); \(model.name) has none. Only fp8 can be applied online")
            }
        }
        if let kv = try a.choice("--kv-cache-dtype", KVCacheDType.allCases.map(\.rawValue)) {
            model.kvCacheBytes = KVCacheDType(rawValue: kv)!.bytes
        }
    }

    static func deployment(_ a: ParsedArguments, store: ProfileStore, engineOverride: EngineProfile?, model: ModelArchitecture, gpu: GPUProfile,
                           plan: ParallelPlan, backend: ParallelPlan.All2AllBackend?) throws -> Deployment {
        var plan = plan
        plan.eplb = a.has("--enable-eplb")
        plan.redundantExperts = try a.int("--num-redundant-experts") ?? 0
        try plan.validate(for: model)
        if backend != nil && !plan.expertParallel {
            throw InputError.usage("'--all2all-backend' chooses how expert parallelism exchanges tokens; it is not used without '--enable-expert-parallel' (or --strategy ep/hybrid)")
        }
        if plan.expertParallel && plan.stageGPUs == 1 {
            try refuseUnused(a, ["--enable-expert-parallel", "--all2all-backend", "--enable-eplb", "--num-redundant-experts"],
                             because: "with one GPU per stage: expert parallelism spreads the experts over TP x DP GPUs (give --tensor-parallel-size or --data-parallel-size above 1)")
        }
        var ic: InterconnectProfile? = nil
        var topology: ClusterTopology
        if a.has("--interconnect") && plan.gpuCount == 1 {
            throw InputError.usage("'--interconnect' is not used on one GPU (give --tensor-parallel-size or --data-parallel-size above 1)")
        }
        if !model.isMoE {
            try refuseUnused(a, ["--routing", "--experts-impl"], because: "by the dense model \(model.name) (it has no experts)")
        }
        let engineName = try a.choice("--engine", EngineProfile.Kind.allCases.map(\.rawValue)) ?? "vllm"
        // A calibration candidate replaces the named profile of its kind (which may not even load yet).
        let engine = try engineOverride.flatMap { $0.kind.rawValue == engineName ? $0 : nil } ?? store.engine(a.string("--engine-profile") ?? engineName)
        guard engine.kind.rawValue == engineName else {
            throw InputError.usage("engine profile '\(engine.name)' is for the \(engine.kind.rawValue) engine, not '\(engineName)'")
        }
        // vLLM uses its all-to-all backend only between DP ranks (FusedMoEParallelConfig.use_all2all_kernels: DP > 1 and
        // EP); with DP 1 every TP rank holds all tokens, runs its own experts and the TP all-reduce combines their
        // outputs, whichever backend is named (StepCostModel.expertParallelCommUs prices nothing then). The HF engine
        // refuses the flag itself (hfSimulator).
        if engine.kind == .vllm && backend != nil && plan.expertParallel && plan.dataParallel == 1 {
            try refuseUnused(a, ["--all2all-backend"], because: all2allNeedsDP)
        }
        // The profile's vLLM picks the token exchange between DP ranks when none is named, and replaces a backend it
        // no longer has by that one, as vLLM 0.24 does (`ParallelConfig._validate_parallel_config`), with its warning:
        // before the nodes are laid out, since a DeepEP backend brings the network profile its figures are in.
        var backendNote: String? = nil
        if engine.kind == .vllm && plan.expertParallel && plan.dataParallel > 1 {
            let resolved = engine.all2allBackend(for: backend, spelled: a.string("--all2all-backend"), subject: "it")
            if let b = resolved.backend { plan.all2allBackend = b }
            backendNote = resolved.note
        }
        let perNode = try gpusPerNode(a, plan: plan)
        (topology, ic) = try nodes(a, plan: plan, gpu: gpu, perNode: perNode, store: store)
        let routing = try RoutingSpec(parsing: a.string("--routing") ?? "uniform")
        var placement: ExpertPlacement? = nil
        if a.has("--expert-placement") && plan.eplb {
            throw InputError.usage("'--enable-eplb' places the experts itself; do not combine it with '--expert-placement'")
        }
        if let f = a.string("--expert-placement") {
            guard plan.expertParallel, let moe = model.moe else {
                throw InputError.usage("'--expert-placement' needs '--enable-expert-parallel' (or --strategy ep/hybrid) and an MoE model")
            }
            placement = try ExpertPlacement.load(file: f, experts: moe.experts, gpus: plan.stageGPUs, moeLayers: model.moeLayerCount)
        }
        var overrides: [String: Double] = [:]
        if let v = try a.positiveInt("--max-num-seqs") { overrides["max_num_seqs"] = Double(v) }
        if let v = try a.positiveInt("--max-num-batched-tokens") { overrides["max_num_batched_tokens"] = Double(v) }
        if let v = try a.positiveInt("--max-cudagraph-capture-size") {
            // The engine profile's own bound for the same parameter (Limits.engineParams): a larger one is no capture size.
            guard v <= 1_000_000 else { throw a.invalid("--max-cudagraph-capture-size", String(v), "allowed 1...1000000 tokens") }
            overrides["cuda_graph_max_tokens"] = Double(v)
        }
        if let v = try a.double("--gpu-memory-utilization") {
            guard v > 0, v <= 1 else { throw a.invalid("--gpu-memory-utilization", a.string("--gpu-memory-utilization")!, "must be in (0, 1]") }
            overrides["gpu_memory_utilization"] = v
        }
        if a.has("--async-scheduling") && a.has("--no-async-scheduling") {
            throw InputError.usage("'--async-scheduling' and '--no-async-scheduling' contradict each other; give one")
        }
        if a.has("--enable-prefix-caching") && a.has("--no-enable-prefix-caching") {
            throw InputError.usage("'--enable-prefix-caching' and '--no-enable-prefix-caching' contradict each other; give one")
        }
        if a.has("--enable-chunked-prefill") && a.has("--no-enable-chunked-prefill") {
            throw InputError.usage("'--enable-chunked-prefill' and '--no-enable-chunked-prefill' contradict each other; give one")
        }
        if a.has("--no-enable-chunked-prefill") { overrides["disable_chunked_prefill"] = 1 }
        if a.has("--async-scheduling") { overrides["async_scheduling"] = 1 }
        if a.has("--no-async-scheduling") { overrides["async_scheduling"] = 0 }
        if a.has("--enforce-eager") { overrides["enforce_eager"] = 1 }
        // The sampling the requests ask for: which of the engine profile's measured sampler costs a logit pays.
        let temperature = try a.double("--temperature"), topK = try a.int("--top-k"), topP = try a.double("--top-p")
        if let t = temperature, !(t >= 0 && t.isFinite) { throw a.invalid("--temperature", a.string("--temperature")!, "must be 0 (greedy) or above") }
        if let k = topK, k < -1 { throw a.invalid("--top-k", a.string("--top-k")!, "must be -1 or 0 (off) or a positive count of tokens") }
        if let p = topP, !(p > 0 && p <= 1) { throw a.invalid("--top-p", a.string("--top-p")!, "must be in (0, 1]") }
        if temperature != nil || topK != nil || topP != nil {
            let key = temperature == 0 ? "sampler_greedy_bytes_per_logit"
                : ((topK ?? 0) > 0 || (topP ?? 1) < 1) ? "sampler_topk_bytes_per_logit" : "sampler_bytes_per_logit"
            if engine.value(key) > 0 { overrides["sampler_bytes_per_logit"] = engine.value(key) }
        }
        if let v = try a.double("--host-speed") {
            guard v > 0, v < 100 else { throw a.invalid("--host-speed", a.string("--host-speed")!, "must be the seconds hostspeed.py's workload took, above 0 (about 0.04-0.08 s on the hosts measured)") }
            guard engine.value("host_speed_reference_s") > 0 else {
                throw InputError.usage("'--host-speed' scales host costs stated at a reference host's speed; engine profile '\(engine.name)' states none (host_speed_reference_s is 0)")
            }
            overrides["host_speed_s"] = v
        }
        if let v = try a.double("--host-cost-scale") {
            guard v >= 0.05, v <= 20 else { throw a.invalid("--host-cost-scale", a.string("--host-cost-scale")!, "must be a factor from 0.05 to 20 (1: the profile's host costs)") }
            overrides["host_cost_scale"] = v
        }
        var d = try Deployment(model: model, gpu: gpu, interconnect: ic, plan: plan, engine: engine, routing: routing,
                               placement: placement, overrides: overrides, topology: topology)
        if let u = try a.choice("--usage-context", Deployment.UsageContext.allCases.map(\.rawValue)) { d.usageContext = Deployment.UsageContext(rawValue: u)! }
        if let m = try a.choice("--performance-mode", Deployment.PerformanceMode.allCases.map(\.rawValue)) { d.performanceMode = Deployment.PerformanceMode(rawValue: m)! }
        if let w = a.string("--warm-token-counts") {
            if w == "all" { d.allWarm = true } else {
                let parts = w.split(separator: ",", omittingEmptySubsequences: false)
                guard parts.count <= 100_000 else { throw a.invalid("--warm-token-counts", String(w.prefix(40)) + "...", "lists \(parts.count) token counts; at most 100000") }
                for p in parts {
                    guard let n = Int(p.trimmingCharacters(in: .whitespaces)), n > 0, n <= 100_000_000 else {
                        throw a.invalid("--warm-token-counts", String(p), "must be `all` or comma-separated token counts from 1 to 100000000")
                    }
                    d.warmTokenCounts.append(n)
                }
            }
        }
        let maxModelLen = try self.maxModelLen(a)
        if let m = maxModelLen, m > 0 {
            guard m <= model.maxPositions else {
                throw a.invalid("--max-model-len", a.string("--max-model-len")!, "\(model.name) takes at most \(model.maxPositions) tokens (max_position_embeddings), and vLLM refuses a longer max_model_len unless told to extend the positions, which moesim does not model")
            }
            d.maxModelLen = m
        }
        if engine.kind == .vllm {
            try applyBatchLimits(a, to: &d)
            try fitMaxModelLen(a, auto: maxModelLen == -1, to: &d)
        } else if maxModelLen != nil {
            try refuseUnused(a, ["--max-model-len"], because: "by '--engine hf' (give --input-len and --output-len)")
        }
        d.notes += interconnectNotes(a, d)
        if let n = backendNote { d.notes.append(n) }
        return d
    }

    /// `--max-model-len`: a length (as vLLM reads it: 32768, 32k, 32K), -1 or auto for the longest the KV cache holds
    /// one request of; nil when not given.
    static func maxModelLen(_ a: ParsedArguments) throws -> Int? {
        guard let v = a.string("--max-model-len") else { return nil }
        if v.lowercased() == "auto" { return -1 }
        let m = try a.int("--max-model-len")!
        guard m == -1 || m > 0 else { throw a.invalid("--max-model-len", v, "must be a positive length, or -1 / auto (the longest the KV cache holds one request of)") }
        return m
    }

    /// vLLM 0.24's check that the KV cache holds one request of max_model_len tokens (`_check_enough_kv_cache_memory`),
    /// and its auto-fit (`--max-model-len auto`): the longest length whose request fits, below the model's own.
    /// Where vLLM would refuse to start, moesim still runs the requests (each is checked to fit) and says so.
    static func fitMaxModelLen(_ a: ParsedArguments, auto: Bool, to d: inout Deployment) throws {
        let mem = d.memoryPlan()
        guard mem.kvBytes > 0, mem.kvBlocks > 0 else { return }
        let fit = VLLMSimulator.largestFittingMaxLen(d, mem: mem, limit: d.model.maxPositions)
        if auto {
            guard fit > 0 else { throw InputError.usage("--max-model-len auto: the KV cache holds not one token (vLLM: \"Cannot auto-fit max_model_len\"); raise --gpu-memory-utilization or the GPU count") }
            d.maxModelLen = fit
            d.notes.append(fit >= d.model.maxPositions ? "note: --max-model-len auto: the model's whole context (\(d.model.maxPositions) tokens) fits the KV cache"
                : "note: --max-model-len auto: max_model_len is \(fit), the longest whose one request the KV cache holds (vLLM's auto-fit; the model's own is \(d.model.maxPositions))")
            return
        }
        let blocks = VLLMSimulator.kvPoolAndRequestBlocks(d, mem: mem, maxLen: d.maxLen)
        if blocks.request > blocks.pool {
            let flag = d.maxModelLen == nil ? "the model's max_position_embeddings (\(d.maxLen))" : "--max-model-len \(d.maxLen)"
            d.notes.append("warning: vLLM 0.24 would not start: one request of \(flag) needs more KV cache than the \(mem.kvTokens) tokens \(d.plan.vllmFlags) holds per DP rank (\"To serve at least one request with the model's max seq len ...\"); give --max-model-len \(fit) or less, as vLLM suggests (moesim runs the requests as if you had: each is checked to fit)")
        }
    }

    /// vLLM 0.24's rules for the two batch limits (EngineArgs._set_default_max_num_seqs_and_batched_tokens_args, then
    /// SchedulerConfig.verify_max_model_len): a default max_num_batched_tokens is at most max_num_seqs x max_model_len;
    /// a default max_num_seqs is lowered to max_num_batched_tokens; a max_num_seqs that was set (by --max-num-seqs or
    /// the engine profile) above max_num_batched_tokens is refused, as vLLM refuses it. (Its max_model_len rule applies
    /// only without chunked prefill, which vLLM 0.24 and moesim always run.) Each change is said in a note.
    static func applyBatchLimits(_ a: ParsedArguments, to d: inout Deployment) throws {
        let e = d.engine
        let defaultText = "vLLM 0.24's default for \(d.gpu.name) in the \(d.usageContext.rawValue) usage context"
        func source(_ key: String, _ flag: String) -> String {
            if a.has(flag) { return "\(flag) \(a.string(flag)!)" }
            return e.value(key) > 0 ? "engine profile \(e.name)'s \(key)" : defaultText
        }
        let seqsDefault = !a.has("--max-num-seqs") && e.value("max_num_seqs") <= 0
        let tokensDefault = !a.has("--max-num-batched-tokens") && e.value("max_num_batched_tokens") <= 0
        let maxLen = Double(d.maxLen)
        if tokensDefault, maxLen > 0 {
            let seqs = d.param("max_num_seqs"), tokens = d.param("max_num_batched_tokens")
            if seqs * maxLen < tokens {
                d.overrides["max_num_batched_tokens"] = seqs * maxLen
                d.notes.append("note: max_num_batched_tokens is \(Int(seqs * maxLen)), lowered from \(defaultText), \(Int(tokens)), to max_num_seqs \(Int(seqs)) (\(source("max_num_seqs", "--max-num-seqs"))) x max_model_len \(Int(maxLen)) (\(d.maxModelLen == nil ? "\(d.model.name)'s max_position_embeddings" : "--max-model-len")), as vLLM lowers a default token budget (give --max-num-batched-tokens to set it)")
            }
        }
        let seqs = d.param("max_num_seqs"), tokens = d.param("max_num_batched_tokens")
        if !d.chunkedPrefill && tokens < maxLen {
            throw InputError.usage("max_num_batched_tokens (\(Int(tokens)), from \(source("max_num_batched_tokens", "--max-num-batched-tokens"))) is smaller than max_model_len (\(Int(maxLen))) with --no-enable-chunked-prefill, which vLLM 0.24 refuses (a longer prompt could never be scheduled): raise --max-num-batched-tokens or lower --max-model-len")
        }
        guard tokens < seqs else { return }
        if seqsDefault {
            d.overrides["max_num_seqs"] = tokens
            d.notes.append("note: max_num_seqs is \(Int(tokens)), lowered from \(defaultText), \(Int(seqs)), to max_num_batched_tokens (\(source("max_num_batched_tokens", "--max-num-batched-tokens"))), as vLLM lowers a default max_num_seqs (give --max-num-seqs to set it)")
            return
        }
        throw InputError.usage("max_num_batched_tokens (\(Int(tokens)), from \(source("max_num_batched_tokens", "--max-num-batched-tokens"))) must be greater than or equal to max_num_seqs (\(Int(seqs)), from \(source("max_num_seqs", "--max-num-seqs"))), as vLLM 0.24's SchedulerConfig requires: raise --max-num-batched-tokens or lower --max-num-seqs")
    }

    /// With `--interconnect` named: where each collective within a node that the plan runs is priced from (the measured
    /// vLLM tables take precedence over a default-candidate profile's curves where they have the GPU count), and a
    /// warning when the profile was measured for other GPUs than the run's.
    static func interconnectNotes(_ a: ParsedArguments, _ d: Deployment) -> [String] {
        guard a.has("--interconnect"), let ic = d.interconnect else { return [] }
        var notes: [String] = []
        if !ic.gpus.contains(d.gpu.name) {
            notes.append("warning: --interconnect \(a.string("--interconnect")!): profile \(ic.name) describes \(ic.gpus.joined(separator: ", ")) hosts, not \(d.gpu.name); its curves and link bandwidth are another GPU system's")
        }
        let p = d.plan
        // The collectives of the plan's steps, by GPU count: TP all-reduces, EP's exchange between DP ranks, PP's
        // hand-over between stages.
        var used: [(Collective, Int)] = []
        func add(_ c: Collective, _ n: Int) { if !used.contains(where: { $0.0 == c && $0.1 == n }) { used.append((c, n)) } }
        if p.tensorParallel > 1 { add(.allReduce, p.tensorParallel) }
        if p.sequenceParallelMoE(d.model) { add(.allGather, p.tensorParallel) }
        if p.expertParallel && p.dataParallel > 1 {
            let rows = p.all2allBackend == .deepepLowLatency ? d.topology.network?.deepepLowLatency : d.topology.network?.deepepNormal
            for c in p.all2allBackend.collectives(deepEPFigures: rows?.isEmpty == false) { add(c, p.moeExchangeGPUs(d.model)) }
        } else if p.dataParallel > 1 && d.model.isMoE {
            // DP without EP: the DP ranks' tokens gathered into each MoE layer and reduce-scattered back.
            add(.allGather, p.moeExchangeGPUs(d.model)); add(.reduceScatter, p.moeExchangeGPUs(d.model))
        }
        if p.pipelineParallel > 1 && !d.topology.isMultiNode { add(.sendRecv, 2) }
        notes.append("note: --interconnect \(ic.name): " + (used.isEmpty ? "no collective of this plan runs within a node over it"
            : d.collectiveOriginText(used)))
        return notes
    }

    /// Flags only the vLLM engine reads (its workload and scheduler); the HF engine refuses them.
    public static let vllmOnlyFlags = ["--dataset-name", "--dataset-path", "--tokenizer", "--sharegpt-output-len", "--custom-output-len", "--skip-chat-template",
                                       "--prefix-repetition-prefix-len", "--prefix-repetition-suffix-len", "--prefix-repetition-num-prefixes",
                                       "--prefix-repetition-output-len", "--disable-shuffle", "--no-oversample", "--random-input-len", "--random-output-len", "--random-range-ratio", "--num-prompts",
                                       "--max-concurrency", "--request-rate", "--burstiness", "--ramp-up-strategy", "--ramp-up-start-rps", "--ramp-up-end-rps", "--trace", "--trace-limit", "--trace-time-scale",
                                       "--max-num-seqs", "--max-num-batched-tokens", "--max-model-len", "--performance-mode", "--enable-chunked-prefill", "--no-enable-chunked-prefill", "--random-prefix-len", "--enable-prefix-caching", "--speculative-config",
                                       "--no-enable-prefix-caching", "--usage-context", "--enforce-eager", "--max-cudagraph-capture-size", "--async-scheduling", "--no-async-scheduling", "--host-speed", "--host-cost-scale",
                                       "--temperature", "--top-k", "--top-p", "--num-iters-warmup", "--num-iters", "--warm-token-counts", "--first-step-requests"] + instanceFlags
    /// Flags of multi-instance runs (replicas, disaggregated prefill/decode).
    public static let instanceFlags = ["--replicas", "--router", "--prefill-instances", "--decode-instances", "--prefill-tensor-parallel-size",
                                       "--kv-transfer-bandwidth-gbps", "--kv-transfer-latency-us"]
    /// Flags only the HF engine reads.
    public static let hfOnlyFlags = ["--batch-size", "--input-len", "--output-len", "--diffusion-steps", "--gen-length", "--block-length",
                                     "--experts-impl", "--cfg", "--expert-reuse"]
    static let diffusionOnlyFlags = ["--diffusion-steps", "--gen-length", "--block-length", "--cfg", "--expert-reuse"]

    /// Refuses a flag given on the command line that the chosen engine or mode does not read.
    /// Why `--all2all-backend` is refused at one DP rank (`run`, `explain` and `plan` alike).
    public static let all2allNeedsDP = "with --data-parallel-size 1: vLLM exchanges tokens through an all-to-all backend only between DP ranks; with DP 1 the experts are spread over the TP group and the TP all-reduce combines their outputs, whichever backend is named (give --data-parallel-size above 1, or leave it out)"

    public static func refuseUnused(_ a: ParsedArguments, _ flags: [String], because why: String) throws {
        for f in flags where a.has(f) { throw InputError.usage("'\(f)' is not used \(why)") }
    }

    /// The Hugging Face static-batch engine the parsed options describe (autoregressive or diffusion).
    public static func hfSimulator(_ a: ParsedArguments, deployment d: Deployment, seed: UInt64) throws -> HFSimulator {
        try refuseUnused(a, vllmOnlyFlags, because: "by '--engine hf' (a static batch: give --batch-size, --input-len and --output-len)")
        try refuseUnused(a, ["--all2all-backend", "--enable-eplb", "--num-redundant-experts"],
                         because: "by '--engine hf' (Transformers' expert parallelism has no all-to-all backend choice and no load balancer)")
        let gen = try a.choice("--generation", ["autoregressive", "diffusion"]) ?? (d.model.isDiffusion ? "diffusion" : "autoregressive")
        if gen == "diffusion" {
            try refuseUnused(a, ["--output-len"], because: "by diffusion generation (give --gen-length)")
        } else {
            try refuseUnused(a, diffusionOnlyFlags, because: "by autoregressive generation (they apply to '--generation diffusion')")
        }
        let batch = try a.int("--batch-size") ?? 1, inputLen = try a.int("--input-len") ?? 128, outputLen = try a.int("--output-len") ?? 64
        let genLen = try a.int("--gen-length") ?? 128
        let positions = inputLen + (gen == "diffusion" ? genLen : outputLen)
        guard positions <= d.model.maxPositions else {
            throw InputError.usage("--input-len \(inputLen) + \(gen == "diffusion" ? "--gen-length \(genLen)" : "--output-len \(outputLen)") = \(positions) tokens; \(d.model.name) accepts at most \(d.model.maxPositions) (max_position_embeddings)")
        }
        // Per-token latencies and the KV cache are held per sequence and token: refuse what cannot fit.
        try Limits.checkMemory(Double(batch) * Double(gen == "diffusion" ? genLen : outputLen) * 16, what: "a batch of \(batch) x \(gen == "diffusion" ? genLen : outputLen) generated tokens", flag: "--batch-size or the generated length")
        try Limits.checkWork(tokens: Double(batch) * Double(positions) * (gen == "diffusion" ? Double(try a.int("--diffusion-steps") ?? 128) : 1), flag: "--batch-size, --input-len or the generated length")
        // Each forward walks every layer and every expert: refuse what would take hours.
        let forwards = gen == "diffusion" ? Double(try a.int("--diffusion-steps") ?? 128) : Double(outputLen)
        let expertsPerLayer: Double = Double(max(d.model.moe?.experts ?? 1, 1))
        let perForward: Double = Double(d.model.layers) * (expertsPerLayer + Double(batch) / 64)
        guard forwards * perForward <= Limits.maxForwardWork else {
            throw InputError.usage(String(format: "the run would take about %.3g forward-layer-expert evaluations (%.0f forwards of %d layers); the limit is %.3g (about five minutes). Lower %@",
                                          forwards * perForward, forwards, d.model.layers, Limits.maxForwardWork, gen == "diffusion" ? "--diffusion-steps" : "--output-len"))
        }
        var sched: DiffusionSchedule? = nil
        if gen == "diffusion" {
            let genLen = try a.int("--gen-length") ?? 128
            sched = try DiffusionSchedule(steps: try a.int("--diffusion-steps") ?? 128, genLength: genLen, blockLength: try a.int("--block-length") ?? genLen)
        }
        let implName = try a.choice("--experts-impl", HFSimulator.ExpertsImpl.allCases.map(\.rawValue)) ?? HFSimulator.defaultExpertsImpl(model: d.model, engine: d.engine)
        guard let impl = HFSimulator.ExpertsImpl(rawValue: implName) else {
            throw InputError.data("engine profile \(d.engine.name): experts_impl '\(implName)' is not one of \(quotedChoices(HFSimulator.ExpertsImpl.allCases.map(\.rawValue)))")
        }
        return try HFSimulator(deployment: d, batchSize: batch, inputLen: inputLen,
                               outputLen: outputLen, diffusion: sched, cfg: a.has("--cfg"), expertsImpl: impl,
                               expertReuse: try a.double("--expert-reuse") ?? 0, seed: seed)
    }

    public static func seed(_ a: ParsedArguments) throws -> UInt64 {
        guard let s = a.string("--seed") else { return 0 }
        guard let v = UInt64(s) else { throw a.invalid("--seed", s, "expected a non-negative whole number") }
        return v
    }

    /// Flags of each dataset (vLLM's groups); a flag of another dataset is refused.
    static let datasetFlags: [String: [String]] = [
        "random": ["--random-input-len", "--random-output-len", "--random-range-ratio", "--random-prefix-len"],
        "sharegpt": ["--sharegpt-output-len"],
        "custom": ["--custom-output-len", "--skip-chat-template"],
        "prefix_repetition": ["--prefix-repetition-prefix-len", "--prefix-repetition-suffix-len", "--prefix-repetition-num-prefixes", "--prefix-repetition-output-len"],
        "burstgpt": [],
    ]
    public static let datasetNames = ["random", "sharegpt", "custom", "burstgpt", "prefix_repetition", "trace"]

    /// The tokenizer file for --tokenizer (a file, a folder, or a repo id in the local Hugging Face cache), or without
    /// it the tokenizer.json beside a --model config.json. nil: none to be had.
    public static func tokenizerFile(_ a: ParsedArguments) throws -> String? {
        let fm = FileManager.default
        if let t = a.string("--tokenizer") {
            if fm.fileExists(atPath: t) { return t }
            if let f = huggingFaceCache(repo: t) { return f }
            throw InputError.usage("--tokenizer '\(t)': no such file or folder, and no tokenizer.json for a repo id '\(t)' in the Hugging Face cache (\(cacheRoots().first ?? "~/.cache/huggingface/hub")); give the path of a tokenizer.json or of the folder holding it")
        }
        if let m = a.string("--model"), m.hasSuffix(".json"), fm.fileExists(atPath: m) {
            let beside = ((m as NSString).deletingLastPathComponent as NSString).appendingPathComponent("tokenizer.json")
            if fm.fileExists(atPath: beside) { return beside }
        }
        return nil
    }

    static func cacheRoots() -> [String] {
        let env = ProcessInfo.processInfo.environment
        var roots: [String] = []
        if let c = env["HF_HUB_CACHE"] { roots.append(c) }
        if let h = env["HF_HOME"] { roots.append(h + "/hub") }
        roots.append(NSHomeDirectory() + "/.cache/huggingface/hub")
        return roots
    }

    /// `org/name` in the Hugging Face hub cache: models--org--name/snapshots/<rev>/tokenizer.json (the newest).
    static func huggingFaceCache(repo: String) -> String? {
        let parts = repo.split(separator: "/")
        guard parts.count == 2, !repo.contains("..") else { return nil }
        let fm = FileManager.default
        for root in cacheRoots() {
            let snaps = "\(root)/models--\(parts[0])--\(parts[1])/snapshots"
            guard let revs = try? fm.contentsOfDirectory(atPath: snaps) else { continue }
            let files = revs.sorted().map { "\(snaps)/\($0)/tokenizer.json" }.filter { fm.fileExists(atPath: $0) }
            if let f = files.max(by: { ((try? fm.attributesOfItem(atPath: $0)[.modificationDate]) as? Date ?? .distantPast) < ((try? fm.attributesOfItem(atPath: $1)[.modificationDate]) as? Date ?? .distantPast) }) { return f }
        }
        return nil
    }

    static let rampUpFlags = ["--ramp-up-strategy", "--ramp-up-start-rps", "--ramp-up-end-rps"]

    /// `--ramp-up-strategy` with its two rates, checked as `vllm bench serve` checks them (main_async): no
    /// --request-rate beside them, both rates given, start at most end, and above 0 (vLLM asserts every request's rate
    /// is positive, so a linear ramp from 0 fails at its first request, and an exponential one is refused outright).
    static func rampUp(_ a: ParsedArguments) throws -> Workload.RampUp? {
        guard let name = try a.choice("--ramp-up-strategy", Workload.RampUp.Strategy.allCases.map(\.rawValue)) else {
            try refuseUnused(a, ["--ramp-up-start-rps", "--ramp-up-end-rps"], because: "without '--ramp-up-strategy linear' or 'exponential'")
            return nil
        }
        if let r = a.string("--request-rate"), r != "inf" {
            throw InputError.usage("'--request-rate \(r)' and '--ramp-up-strategy' both set the rate; as vLLM says, with a ramp-up leave --request-rate out (the ramp's rates control it)")
        }
        guard let start = try a.int("--ramp-up-start-rps"), let end = try a.int("--ramp-up-end-rps") else {
            throw InputError.usage("'--ramp-up-strategy \(name)' needs both '--ramp-up-start-rps <n>' and '--ramp-up-end-rps <n>'")
        }
        guard start > 0 else { throw a.invalid("--ramp-up-start-rps", "\(start)", "must be 1 or more: vLLM needs every request's rate above 0 (a ramp from 0 fails at its first request)") }
        guard start <= end else { throw a.invalid("--ramp-up-end-rps", "\(end)", "must be at least --ramp-up-start-rps (\(start)), as vLLM requires") }
        return Workload.RampUp(strategy: Workload.RampUp.Strategy(rawValue: name)!, startRPS: Double(start), endRPS: Double(end))
    }

    /// Builds the request stream (one of vLLM's datasets, or a trace) for the vLLM engine.
    public static func workload(_ a: ParsedArguments, seed: UInt64) throws -> Workload {
        if a.string("--usage-context") == "offline" {
            try refuseUnused(a, ["--request-rate", "--burstiness", "--max-concurrency", "--trace", "--trace-limit", "--trace-time-scale"] + rampUpFlags,
                             because: "with '--usage-context offline' (vLLM's LLM class gets every request at once, as `vllm bench throughput`); use --usage-context serve for arrivals and concurrency")
        } else {
            try refuseUnused(a, ["--first-step-requests"], because: "without '--usage-context offline' (it is the offline LLM class's first step; a server's requests arrive at their own times)")
        }
        let dataset = try a.choice("--dataset-name", datasetNames) ?? (a.has("--trace") ? "trace" : "random")
        let conc = try a.positiveInt("--max-concurrency")
        if dataset == "trace" {
            guard let f = a.string("--trace") else { throw InputError.usage("'--dataset-name trace' needs '--trace <file>'") }
            try refuseUnused(a, ["--random-input-len", "--random-output-len", "--random-range-ratio", "--random-prefix-len", "--num-prompts", "--request-rate", "--burstiness",
                                 "--dataset-path", "--disable-shuffle", "--no-oversample"] + rampUpFlags + datasetFlags.values.flatMap { $0 },
                             because: "with a trace (it gives the lengths and arrival times; --trace-limit and --trace-time-scale shape it)")
            let scale = try a.double("--trace-time-scale") ?? 1
            guard scale > 0, scale.isFinite else { throw a.invalid("--trace-time-scale", a.string("--trace-time-scale")!, "must be positive") }
            let reqs = try TraceLoader.load(file: f, limit: try a.positiveInt("--trace-limit"), timeScale: scale, seed: seed)
            try Limits.checkWork(tokens: reqs.reduce(0.0) { $0 + Double($1.inputTokens + $1.outputTokens) }, flag: "--trace-limit")
            return Workload(requests: reqs, maxConcurrency: conc, description: "trace \(f) (\(reqs.count) requests)")
        }
        // vllm bench serve calls np.random.seed(args.seed) at start-up whatever the rate, which takes 0...2^32-1.
        if a.string("--usage-context") != "offline", seed > UInt64(UInt32.max) {
            throw InputError.usage("--seed \(seed): vllm bench serve seeds NumPy's global generator with it (np.random.seed), which takes 0...\(UInt32.max), and fails on a larger one; give a smaller --seed")
        }
        if a.has("--trace") { throw InputError.usage("'--trace' needs '--dataset-name trace' (or leave --dataset-name out); '--dataset-name \(dataset)' reads '--dataset-path <file>'") }
        try refuseUnused(a, ["--trace-limit", "--trace-time-scale"], because: "without '--trace'")
        for (name, flags) in datasetFlags where name != dataset {
            try refuseUnused(a, flags, because: "by '--dataset-name \(dataset)' (it is a \(name) flag)")
        }
        let needsFile = ["sharegpt", "custom", "burstgpt"].contains(dataset)
        if needsFile && !a.has("--dataset-path") { throw InputError.usage("'--dataset-name \(dataset)' needs '--dataset-path <file>'") }
        if !needsFile { try refuseUnused(a, ["--dataset-path"], because: "by '--dataset-name \(dataset)' (it makes its prompts)") }
        if !["sharegpt", "custom"].contains(dataset) { try refuseUnused(a, ["--no-oversample"], because: "by '--dataset-name \(dataset)'") }
        if !["sharegpt", "custom", "prefix_repetition"].contains(dataset) { try refuseUnused(a, ["--disable-shuffle"], because: "by '--dataset-name \(dataset)'") }
        let rate = try a.double("--request-rate")
        let rampUp = try self.rampUp(a)
        // vLLM accepts --burstiness with every request at once (it has no gaps to shape); its default 1.0 changes nothing
        // there, any other value would be ignored, so it is refused.
        if a.has("--burstiness"), rampUp == nil, (rate ?? .infinity) == .infinity, try a.double("--burstiness") != 1 {
            throw InputError.usage("'--burstiness \(a.string("--burstiness")!)' shapes the gaps between arrivals and is not used with --request-rate inf (all requests at once); give a finite --request-rate (or the default 1.0)")
        }
        let n = try a.int("--num-prompts") ?? 1000
        try Limits.checkMemory(Double(n) * Limits.bytesPerRequest, what: "\(n) requests", flag: "--num-prompts")
        let burstiness = try a.double("--burstiness") ?? 1
        let shuffle = !a.has("--disable-shuffle"), oversample = !a.has("--no-oversample")
        // Token counts: with the tokenizer where the dataset has text (and for random's special tokens).
        var notes: [String] = []
        var counter = TokenCounter(tokenizer: nil)
        if ["sharegpt", "custom", "random"].contains(dataset) {
            if let f = try tokenizerFile(a) {
                counter = TokenCounter(tokenizer: try HFTokenizer(path: f))
            } else if dataset != "random" {
                notes.append(TokenCounter.estimateWarning)
            }
        }
        let rateText = rampUp?.described ?? "rate " + (rate.map { $0.isFinite ? "\($0) req/s" : "inf" } ?? "inf")
        let tail = "\(rateText), max concurrency \(conc.map(String.init) ?? "none")"
        var result: Datasets.Result
        var what: String
        switch dataset {
        case "sharegpt":
            let f = a.string("--dataset-path")!
            let out = try a.int("--sharegpt-output-len")
            if let o = out, o < 1 { throw a.invalid("--sharegpt-output-len", "\(o)", "must be positive") }
            result = try Datasets.sharegpt(file: f, counter: counter, numPrompts: n, outputLen: out, seed: seed, shuffle: shuffle, oversample: oversample)
            what = "sharegpt \(f)"
        case "custom":
            let f = a.string("--dataset-path")!
            let out = try a.int("--custom-output-len") ?? 256
            guard out == -1 || out >= 1 else { throw a.invalid("--custom-output-len", "\(out)", "must be positive, or -1 for each line's output_tokens") }
            if !a.has("--skip-chat-template") {
                notes.append("warning: vLLM applies the model's chat template to custom prompts unless --skip-chat-template; moesim counts the bare prompts (a chat template adds a few tokens each)")
            }
            result = try Datasets.custom(file: f, counter: counter, numPrompts: n, outputLen: out, seed: seed, shuffle: shuffle, oversample: oversample)
            what = "custom \(f)"
        case "burstgpt":
            let f = a.string("--dataset-path")!
            result = try Datasets.burstgpt(file: f, numPrompts: n, seed: seed)
            what = "burstgpt \(f)"
        case "prefix_repetition":
            let p = try a.int("--prefix-repetition-prefix-len") ?? 256, sfx = try a.int("--prefix-repetition-suffix-len") ?? 256
            let k = try a.int("--prefix-repetition-num-prefixes") ?? 10, o = try a.int("--prefix-repetition-output-len") ?? 128
            try Limits.checkWork(tokens: Double(n) * Double(p + sfx + o), flag: "--num-prompts or the prefix repetition lengths")
            result = try Datasets.prefixRepetition(prefixLen: p, suffixLen: sfx, numPrefixes: k, outputLen: o, numPrompts: n, seed: seed, shuffle: shuffle)
            what = "prefix_repetition \(k) x \(p) shared + \(sfx)/\(o) x\(result.samples.count)"
            // vLLM's dataset re-seeds NumPy's global generator and draws every prompt token from it (re-encoding
            // through the tokenizer, which may draw more) before the client draws the gaps from the same generator.
            if (rate.map { $0.isFinite } ?? false) || rampUp != nil {
                notes.append("note: with prefix_repetition vLLM draws the arrival gaps after the prompts' random tokens from the same NumPy generator, so moesim's gaps (the same distribution and rate) are not the very times vLLM sends for this seed")
            }
        default: // random
            let inLen = try a.int("--random-input-len") ?? 1024, outLen = try a.int("--random-output-len") ?? 128
            let ratios: (input: Double, output: Double) = try a.string("--random-range-ratio").map(Datasets.rangeRatios) ?? (input: 0, output: 0)
            let prefixLen = try a.int("--random-prefix-len") ?? 0
            try Limits.checkWork(tokens: Double(n) * (Double(inLen) * (1 + ratios.input) + Double(outLen) * (1 + ratios.output) + Double(prefixLen)), flag: "--num-prompts or the lengths")
            var w = try Workload.random(inputLen: inLen, outputLen: outLen, rangeRatio: ratios.input, numPrompts: n,
                                        requestRate: rate, burstiness: burstiness, maxConcurrency: conc, seed: seed,
                                        prefixLen: prefixLen, outputRangeRatio: ratios.output, specialTokens: counter.specialTokens, rampUp: rampUp)
            w.notes = notes
            return w
        }
        for s in result.samples {
            guard Limits.tokens.contains(s.input), Limits.tokens.contains(s.output) else {
                throw InputError.data("\(a.string("--dataset-path") ?? dataset): a request of \(s.input) input and \(s.output) output tokens is out of range; allowed \(Limits.tokens.lowerBound)...\(Limits.tokens.upperBound) each")
            }
        }
        try Limits.checkWork(tokens: result.samples.reduce(0.0) { $0 + Double($1.input + $1.output) }, flag: "--num-prompts")
        var w = try Workload.fromSamples(result.samples, requestRate: rate, burstiness: burstiness, maxConcurrency: conc, seed: seed,
                                         description: "\(what) (\(result.samples.count) requests\(counter.tokenizer == nil && dataset != "burstgpt" && dataset != "prefix_repetition" ? ", estimated tokens" : "")), \(tail)",
                                         rampUp: rampUp)
        w.notes = notes + result.notes
        return w
    }

    /// The vLLM engine with the serving features the flags turn on (prefix caching, speculative decoding).
    public static func vllmSimulator(_ a: ParsedArguments, deployment d: Deployment, workload w: Workload, seed: UInt64, store: ProfileStore) throws -> VLLMSimulator {
        let (sp, draft, target) = try speculative(a, deployment: d, store: store)
        var sim = VLLMSimulator(deployment: target, workload: w, seed: seed)
        sim.prefixCaching = a.has("--enable-prefix-caching") || (d.param("default_prefix_caching") >= 0.5 && !a.has("--no-enable-prefix-caching"))
        sim.speculative = sp
        sim.draftDeployment = draft
        return sim
    }

    /// `--speculative-config`: the config, the draft model's deployment (method draft_model) and the target deployment
    /// with the draft's weights and KV cache counted in its memory (they share the GPUs). A draft must be an
    /// autoregressive model.
    public static func speculative(_ a: ParsedArguments, deployment d: Deployment, store: ProfileStore) throws -> (SpeculativeConfig?, Deployment?, Deployment) {
        guard let text = a.string("--speculative-config") else { return (nil, nil, d) }
        let sp = try SpeculativeConfig(json: text)
        var d = d
        // vLLM 0.24's second model runner does not support these methods: it runs the first (Deployment.reserveGB).
        d.vllmRunnerV1Forced = sp.method == .ngram || sp.method == .draft_model
        guard sp.method == .draft_model, let name = sp.model else { return (sp, nil, d) }
        let draft = try store.model(name)
        if draft.isDiffusion {
            throw InputError.usage("--speculative-config: the draft model \(draft.name) is a diffusion model; a draft proposes tokens one at a time (give an autoregressive model)")
        }
        // vLLM runs the draft with the target's tensor parallel size (draft_tensor_parallel_size defaults to it).
        let plan = ParallelPlan(tp: d.plan.tensorParallel, dp: d.plan.dataParallel, ep: false, backend: nil)
        let dd = try Deployment(model: draft, gpu: d.gpu, interconnect: d.interconnect, plan: plan, engine: d.engine, overrides: d.overrides)
        let dm = dd.memoryPlan()
        var target = d
        target.draftMemory = .init(weightBytesPerGPU: dm.weightBytes, kvBytesPerTokenPerGPU: dm.kvBytesPerToken)
        try target.memoryPlan().check(model: d.model, plan: d.plan, gpu: d.gpu)
        return (sp, dd, target)
    }

    /// Several engine instances (--replicas N, or --prefill-instances x --decode-instances y), or nil for one.
    public static func instanceSimulator(_ a: ParsedArguments, deployment d: Deployment, workload w: Workload, seed: UInt64, store: ProfileStore) throws -> InstanceSimulator? {
        let replicas = try a.positiveInt("--replicas")
        let px = try a.positiveInt("--prefill-instances")
        if px == nil {
            try refuseUnused(a, ["--decode-instances", "--prefill-tensor-parallel-size", "--kv-transfer-bandwidth-gbps", "--kv-transfer-latency-us"],
                             because: "without disaggregated prefill/decode (give --prefill-instances)")
        } else if replicas != nil {
            throw InputError.usage("'--replicas' and '--prefill-instances' describe different clusters; for disaggregated prefill/decode give --prefill-instances and --decode-instances")
        }
        if (replicas ?? 1) == 1 && px == nil {
            try refuseUnused(a, ["--router"], because: "with one engine instance (give --replicas or --prefill-instances)")
            return nil
        }
        // Every instance keeps per-request state for the whole workload.
        let count = (replicas ?? 0) + (px ?? 0) + (px != nil ? (try a.positiveInt("--decode-instances") ?? 1) : 0)
        try Limits.checkMemory(Double(w.requests.count) * Double(count) * Limits.bytesPerRequest, what: "\(count) instances x \(w.requests.count) requests",
                               flag: "--replicas / the instance counts or --num-prompts")
        let policy = RouterPolicy(rawValue: try a.choice("--router", RouterPolicy.allCases.map(\.rawValue)) ?? "least_outstanding")!
        let base = try vllmSimulator(a, deployment: d, workload: w, seed: seed, store: store)
        // The instances that decode hold the draft model too (its memory counted); prefill instances do not.
        let decoding = base.deployment
        var sim: InstanceSimulator
        if let x = px {
            let y = try a.positiveInt("--decode-instances") ?? 1
            // The prefill instances are the decode instances' deployment with their own tensor parallel size (data and
            // pipeline parallelism, expert parallelism and EPLB kept), on the same nodes: restating the decode TP is
            // the decode deployment itself.
            var pd = d
            let perNode = try gpusPerNode(a, plan: d.plan)
            if let tp = try a.positiveInt("--prefill-tensor-parallel-size"), tp != d.plan.tensorParallel {
                var plan = d.plan
                plan.tensorParallel = tp
                try plan.validate(for: d.model)
                guard plan.gpuCount <= Limits.gpus.upperBound else {
                    throw InputError.usage("--prefill-tensor-parallel-size \(tp): \(plan.gpuCount) GPUs per prefill instance; allowed at most \(Limits.gpus.upperBound)")
                }
                let (topology, ic) = try nodes(a, plan: plan, gpu: d.gpu, perNode: perNode, store: store, checkFlags: false)
                pd = try Deployment(model: d.model, gpu: d.gpu, interconnect: ic, plan: plan, engine: d.engine, routing: d.routing, overrides: d.overrides, topology: topology)
            }
            guard x + y <= Limits.instances.upperBound else { throw InputError.usage("--prefill-instances \(x) + --decode-instances \(y): allowed at most \(Limits.instances.upperBound) instances") }
            sim = InstanceSimulator(instances: .init(deployment: decoding, count: y), prefill: .init(deployment: pd, count: x), policy: policy, workload: w, seed: seed)
            // The KV moves between one prefill and one decode instance: over NVLink when both fit one node, else over
            // each GPU's share of the nodes' NICs.
            if let bw = try a.double("--kv-transfer-bandwidth-gbps") { sim.kvLinkGBps = bw }
            else if pd.plan.gpuCount + d.plan.gpuCount > perNode, let net = try d.topology.network ?? store.defaultNetwork(gpu: d.gpu.name) {
                sim.kvLinkGBps = net.perGPUBytesPerSecond(gpusPerNode: perNode) / 1e9
                sim.kvPath = "across nodes of \(perNode) GPUs over \(net.name)"
            }
            else if let ic = try d.interconnect ?? store.defaultInterconnect(gpu: d.gpu.name, gpus: 2) { sim.kvLinkGBps = ic.linkBandwidthGBps }
            else { throw InputError.usage("no interconnect profile gives \(d.gpu.name)'s link bandwidth; give '--kv-transfer-bandwidth-gbps'") }
            sim.kvLatencyUs = try a.double("--kv-transfer-latency-us") ?? 0
        } else {
            sim = InstanceSimulator(instances: .init(deployment: decoding, count: replicas!), policy: policy, workload: w, seed: seed)
        }
        sim.prefixCaching = base.prefixCaching
        sim.speculative = base.speculative
        sim.draftDeployment = base.draftDeployment
        return sim
    }
}
