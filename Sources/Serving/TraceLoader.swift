import Foundation
import SimKit
import Cluster

/// Reads request traces: CSV or JSONL with arrival time, input tokens and output tokens.
///
/// Column layouts recognised (first match wins):
/// - Azure LLM inference trace (2023/2024): `TIMESTAMP`, `ContextTokens`, `GeneratedTokens` (timestamps as dates or seconds)
/// - Splitwise / vidur derivative: `arrived_at` (s), `num_prefill_tokens`, `num_decode_tokens`
/// - BurstGPT: `Timestamp` (s), `Request tokens`, `Response tokens`
/// - apex_plus JSONL: `StartTimeOffset` (ns), `ContextTokens`, `GeneratedTokens`
/// - generic: `arrival_time`/`arrival_s`, `input_tokens`/`input_len`, `output_tokens`/`output_len`
///
/// Multi-turn conversations: an optional `conversation_id` (or `session_id`) column or key. Rows of one
/// conversation share their tokens with each other (each turn's prompt holds the earlier turns' prompts and
/// answers, as chat traces count them), which prefix caching reuses.
public enum TraceLoader {
    static let timeKeys: [(String, Double)] = [("arrived_at", 1), ("arrival_time", 1), ("arrival_s", 1), ("Timestamp", 1),
                                               ("StartTimeOffset", 1e-9), ("TIMESTAMP", 1), ("timestamp", 1)]
    static let inKeys = ["num_prefill_tokens", "ContextTokens", "Request tokens", "input_tokens", "input_len", "prompt_tokens"]
    static let outKeys = ["num_decode_tokens", "GeneratedTokens", "Response tokens", "output_tokens", "output_len", "completion_tokens"]
    static let conversationKeys = ["conversation_id", "session_id"]

    /// A cell for an error message: one line, at most 40 characters.
    static func short(_ s: String) -> String {
        let t = s.count > 40 ? String(s.prefix(40)) + "…" : s
        return t.replacingOccurrences(of: "\r", with: "\\r")
    }

    /// A conversation's prefix key (FNV-1a of its id; never 0).
    static func conversationKey(_ id: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in id.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h == 0 ? 1 : h
    }

    /// Loads a trace; arrival times are shifted so the first request arrives at 0. `limit` keeps the first N rows.
    public static func load(file: String, limit: Int? = nil, timeScale: Double = 1, seed: UInt64 = 0) throws -> [Request] {
        guard let text = String(data: try readInputFile(file), encoding: .utf8) else {
            throw InputError.data("\(file): the trace is not UTF-8 text")
        }
        // A recorded benchmark result (one JSON object with its requests' send times and lengths).
        if text.hasPrefix("{"), !file.hasSuffix(".jsonl"), let node = try? JSONNode.parse(data: Data(text.utf8), file: file, pythonNonFinite: true),
           let recorded = try RecordedBenchmark.requests(node, file: file, seed: seed) {
            return Array(recorded.prefix(limit ?? recorded.count)).map { r in
                var q = r; q.arrival = .seconds(r.arrival.seconds * timeScale); return q
            }
        }
        var rows: [(Double, Int, Int)] = []
        var convs: [String?] = []
        let start = text.drop(while: { $0.isWhitespace || $0 == "\u{FEFF}" })
        if start.hasPrefix("[") {
            throw InputError.data("\(file): a JSON array is not a trace (CSV or JSONL of arrival times and token counts); a ShareGPT dataset goes to '--dataset-name sharegpt --dataset-path \(file)'")
        }
        if file.hasSuffix(".jsonl") || start.hasPrefix("{") {
            var lineNo = 0
            for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
                lineNo += 1
                if let l = limit, rows.count >= l { break }
                let node = try JSONNode.parse(data: Data(line.utf8), file: "\(file): line \(lineNo)")
                guard let obj = node.object else { throw node.fail("expected a JSON object per line") }
                guard let tk = timeKeys.first(where: { obj[$0.0] != nil }) else {
                    throw InputError.data("\(file): line \(lineNo): no arrival-time key; expected one of \(quotedChoices(timeKeys.map(\.0)))")
                }
                guard let ik = inKeys.first(where: { obj[$0] != nil }), let ok = outKeys.first(where: { obj[$0] != nil }) else {
                    throw InputError.data("\(file): line \(lineNo): needs an input-token key (\(quotedChoices(inKeys))) and an output-token key (\(quotedChoices(outKeys)))")
                }
                rows.append((try node.double(tk.0) * tk.1, try node.int(ik, in: Limits.tokens), try node.int(ok, in: Limits.tokens)))
                if let ck = conversationKeys.first(where: { obj[$0] != nil }), let v = node.optional(ck) {
                    convs.append((v.value as? String) ?? (v.value as? NSNumber)?.stringValue)
                } else { convs.append(nil) }
            }
        } else {
            let lines = text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" }).map(String.init)
            guard let header = lines.first else { throw InputError.data("\(file): the trace is empty") }
            let cols = header.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard let tk = timeKeys.first(where: { cols.contains($0.0) }),
                  let ti = cols.firstIndex(of: tk.0),
                  let ii = cols.firstIndex(where: { inKeys.contains($0) }),
                  let oi = cols.firstIndex(where: { outKeys.contains($0) }) else {
                throw InputError.data("\(file): unrecognised CSV header '\(header.count > 100 ? String(header.prefix(100)) + "…" : header)'; expected an arrival column (\(quotedChoices(timeKeys.map(\.0)))), an input-token column (\(quotedChoices(inKeys))) and an output-token column (\(quotedChoices(outKeys)))")
            }
            let ci = cols.firstIndex(where: { conversationKeys.contains($0) })
            var firstDate: Date? = nil
            let fmt = DateFormatter()
            fmt.locale = Locale(identifier: "en_US_POSIX")
            fmt.timeZone = TimeZone(identifier: "UTC")
            fmt.dateFormat = "yyyy-MM-dd HH:mm:ss.SSSSSS"
            for (n, line) in lines.dropFirst().enumerated() {
                if let l = limit, rows.count >= l { break }
                let f = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
                guard f.count > max(ti, ii, oi) else { throw InputError.data("\(file): line \(n + 2): expected \(cols.count) columns, found \(f.count)") }
                var t: Double
                if let v = Double(f[ti]) {
                    guard v.isFinite else { throw InputError.data("\(file): line \(n + 2): column '\(cols[ti])' has time value '\(Self.short(f[ti]))'; it must be a finite number") }
                    t = v * tk.1
                }
                else if let d = fmt.date(from: String(f[ti].prefix(26))) {
                    if firstDate == nil { firstDate = d }
                    t = d.timeIntervalSince(firstDate!)
                } else { throw InputError.data("\(file): line \(n + 2): column '\(cols[ti])' has bad time value '\(Self.short(f[ti]))'") }
                guard let i = Int(f[ii]), let o = Int(f[oi]) else {
                    throw InputError.data("\(file): line \(n + 2): token counts '\(Self.short(f[ii]))', '\(Self.short(f[oi]))' are not whole numbers")
                }
                guard Limits.tokens.contains(i), Limits.tokens.contains(o) else {
                    throw InputError.data("\(file): line \(n + 2): token counts \(i), \(o) are out of range; allowed \(Limits.tokens.lowerBound)...\(Limits.tokens.upperBound)")
                }
                rows.append((t, i, o))
                convs.append(ci.flatMap { $0 < f.count && !f[$0].isEmpty ? f[$0] : nil })
            }
        }
        guard !rows.isEmpty else { throw InputError.data("\(file): the trace has no requests") }
        let t0 = rows.map(\.0).min()!
        var out: [Request] = []
        out.reserveCapacity(rows.count)
        for (n, r) in rows.enumerated() {
            guard r.1 > 0, r.2 > 0 else { throw InputError.data("\(file): request \(n + 1) has \(r.1) input and \(r.2) output tokens; both must be positive") }
            // Arrival times become whole nanoseconds: the span must fit the simulated-time limit.
            let at = (r.0 - t0) * timeScale
            guard at.isFinite, at <= Limits.maxSimulatedSeconds else {
                throw InputError.data("\(file): request \(n + 1) arrives \(String(format: "%.3g", at)) s after the first (after --trace-time-scale \(timeScale)); the limit is \(Int(Limits.maxSimulatedSeconds)) s")
            }
            if let c = convs[n] {
                out.append(Request(arrival: .seconds(at), inputTokens: r.1, outputTokens: r.2, prefixKey: conversationKey(c), sharedTokens: r.1 + r.2))
            } else {
                out.append(Request(arrival: .seconds(at), inputTokens: r.1, outputTokens: r.2))
            }
        }
        out.sort { $0.arrival < $1.arrival }
        return out
    }
}
