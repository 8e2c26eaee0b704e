import NumericCore

// What the graph transformers read: the edge-list layout (`TokenLayout.edgeList`, Saparov et al.'s search
// prompts: integer tokens, prompts of different lengths right-padded with −1, `SearchBatch.tokens`), and the
// masks of the search decoder (causal) and the connectivity encoder (bidirectional over the graph).

/// Search prompts checked and ready for a decoder: the token ids `[B · T]` row-major with padding mapped to id 0,
/// and each prompt's length. Under a causal mask a real token never sees the padding after it, so the padding's
/// id does not matter; the read-out is gathered at each prompt's last real token (`lastRows`).
public struct EdgeListTokens: Equatable, Sendable {
    public let batchSize: Int
    /// Positions T: the longest prompt of the batch.
    public let length: Int
    public let ids: [Int]
    public let lengths: [Int]

    /// Checks `tokens [B, T]` against a vocabulary of `vocabulary` ids: integers in 0..<vocabulary, −1 only as
    /// padding after a prompt's last token, at least one real token per prompt. Throws naming the first problem.
    public init(_ tokens: Tensor, vocabulary: Int) throws {
        guard tokens.rank == 2, tokens.shape[0] >= 1, tokens.shape[1] >= 1 else {
            throw TaskError("search tokens: expected [B, T] with B, T ≥ 1, got \(tokens.shape)")
        }
        let (b, t) = (tokens.shape[0], tokens.shape[1])
        var ids = [Int](repeating: 0, count: b * t), lengths = [Int](repeating: t, count: b)
        for p in 0..<b {
            for i in 0..<t {
                let x = tokens.scalars[p * t + i]
                guard x == x.rounded(), x >= -1, x < Double(vocabulary) else {
                    throw TaskError("search tokens: prompt \(p), position \(i) holds \(x), not a token id in 0..<\(vocabulary) or −1 (padding)")
                }
                if x == -1 {
                    if lengths[p] == t { lengths[p] = i }
                } else if lengths[p] < t {
                    throw TaskError("search tokens: prompt \(p) has token \(Int(x)) at position \(i) after padding at \(lengths[p]); pad only at the end")
                } else {
                    ids[p * t + i] = Int(x)
                }
            }
            guard lengths[p] >= 1 else { throw TaskError("search tokens: prompt \(p) is all padding") }
        }
        // Positions where every prompt is padding are dropped: T is the longest prompt.
        let longest = lengths.max()!
        batchSize = b
        length = longest
        self.ids = longest == t ? ids : (0..<b).flatMap { p in ids[(p * t)..<(p * t + longest)] }
        self.lengths = lengths
    }

    /// Row `p · T + length_p − 1` of each prompt: where a decoder reads its answer out.
    public var lastRows: [Int] { lengths.enumerated().map { $0.offset * length + $0.element - 1 } }
}

extension TokenLayout {
    /// The causal mask `[T, T]` (0 where token i may attend token j ≤ i, −∞ above the diagonal).
    public static func causalMask(_ t: Int) -> Tensor { interleavedMask(contextTokens: t, queries: 0) }

    /// The encoder mask `[n + Q, n + Q]`: the n context tokens attend each other in both directions; each of the
    /// Q queries attends the context and itself.
    public static func encoderMask(contextSize n: Int, queries q: Int) -> Tensor {
        let t = n + q
        var m = [Double](repeating: -.infinity, count: t * t)
        for i in 0..<t { for j in 0..<n { m[i * t + j] = 0 } }
        for i in n..<t { m[i * t + i] = 0 }
        return Tensor(shape: [t, t], scalars: m)
    }
}

extension SearchBatch {
    /// Checks that `targets` is `[B, V]` multi-hot (0 or 1) with at least one correct vertex per prompt and
    /// `lookahead` is `[B]`; throws naming the first problem.
    public func validateTargets(vertices v: Int) throws {
        let b = tokens.shape[0]
        guard targets.shape == [b, v] else {
            throw TaskError("search targets: expected [B, V] = [\(b), \(v)], got \(targets.shape)")
        }
        guard lookahead.shape == [b] else { throw TaskError("search lookahead: expected [B] = [\(b)], got \(lookahead.shape)") }
        for p in 0..<b {
            let row = targets.scalars[(p * v)..<((p + 1) * v)]
            guard row.allSatisfy({ $0 == 0 || $0 == 1 }), row.contains(1) else {
                throw TaskError("search targets: prompt \(p) must mark at least one correct vertex with 1 (and the rest 0)")
            }
        }
    }

    /// Prompts `range` of the batch (the tokens keep their padded length).
    public func prompts(_ range: Range<Int>) -> SearchBatch {
        SearchBatch(tokens: tokens.slice(alongAxis: 0, range), targets: targets.slice(alongAxis: 0, range),
                    lookahead: lookahead.slice(alongAxis: 0, range))
    }
}
