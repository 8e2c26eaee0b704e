import Foundation
import NumericCore

/// Why a prompt file or prompt batch was refused.
public struct TaskError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A batch of in-context regression prompts: `B` prompts of `N` points `(x_i, y_i)`.
///
/// Shapes: `xs [B, N, D]`, `ys [B, N]`, and, when the generator knows them, the task weights `ws [B, D]`.
/// A learner sees the first `n` points as context and predicts `y` at the others (see `InContextLearner`).
public struct PromptBatch: Equatable {
    public let xs: Tensor
    public let ys: Tensor
    public let ws: Tensor?

    /// Validates shapes and finiteness: a prompt with NaN or ±∞ is refused, naming the array.
    public init(xs: Tensor, ys: Tensor, ws: Tensor? = nil) throws {
        guard xs.rank == 3 else { throw TaskError("prompts: xs must have shape [B, N, D], got \(xs.shape)") }
        guard xs.shape.allSatisfy({ $0 >= 1 }) else {
            throw TaskError("prompts: B, N and D must each be ≥ 1 (xs has shape \(xs.shape)); an empty prompt set has nothing to compare")
        }
        guard ys.shape == [xs.shape[0], xs.shape[1]] else {
            throw TaskError("prompts: ys must have shape [B, N] = \([xs.shape[0], xs.shape[1]]), got \(ys.shape)")
        }
        if let ws, ws.shape != [xs.shape[0], xs.shape[2]] {
            throw TaskError("prompts: ws must have shape [B, D] = \([xs.shape[0], xs.shape[2]]), got \(ws.shape)")
        }
        for (name, t) in [("xs", xs), ("ys", ys), ("ws", ws ?? Tensor(0))] where !t.isFinite {
            let i = t.scalars.firstIndex { !$0.isFinite }!
            throw TaskError("prompts: \(name) contains a non-finite value (\(t.scalars[i])) at flat index \(i)")
        }
        self.xs = xs
        self.ys = ys
        self.ws = ws
    }

    /// Prompts the workbench made itself (a sampler's output, a slice of validated prompts): shapes are
    /// checked, the per-element finiteness scan is skipped (a sampler's overflow surfaces as a non-finite loss).
    init(trusted xs: Tensor, ys: Tensor, ws: Tensor? = nil) {
        precondition(xs.rank == 3 && ys.shape == [xs.shape[0], xs.shape[1]] && (ws == nil || ws!.shape == [xs.shape[0], xs.shape[2]]),
                     "PromptBatch: shapes xs \(xs.shape), ys \(ys.shape), ws \(ws?.shape ?? [])")
        self.xs = xs
        self.ys = ys
        self.ws = ws
    }

    public var batchSize: Int { xs.shape[0] }
    public var pointCount: Int { xs.shape[1] }
    public var dimension: Int { xs.shape[2] }

    /// The first `n` points of every prompt: `xs [B, n, D]`, `ys [B, n]`.
    public func context(_ n: Int) -> (xs: Tensor, ys: Tensor) {
        precondition(n >= 0 && n <= pointCount, "context: \(n) points requested from prompts of \(pointCount)")
        return (xs.slice(alongAxis: 1, 0..<n), ys.slice(alongAxis: 1, 0..<n))
    }

    /// Points `range` of every prompt as queries: `xs [B, Q, D]`, `ys [B, Q]`.
    public func points(_ range: Range<Int>) -> (xs: Tensor, ys: Tensor) {
        (xs.slice(alongAxis: 1, range), ys.slice(alongAxis: 1, range))
    }

    /// Prompts `range` of the batch.
    public func prompts(_ range: Range<Int>) -> PromptBatch {
        PromptBatch(trusted: xs.slice(alongAxis: 0, range), ys: ys.slice(alongAxis: 0, range),
                         ws: ws?.slice(alongAxis: 0, range))
    }

    // MARK: .npz interop (arrays `xs`, `ys`, optional `ws`, as NumPy/PyTorch/JAX would write them)

    public func save(to url: URL) throws {
        var arrays: [(name: String, tensor: Tensor)] = [("xs", xs), ("ys", ys)]
        if let ws { arrays.append(("ws", ws)) }
        try NumPy.save(arrays, npz: url)
    }

    public static func load(from url: URL) throws -> PromptBatch {
        let arrays = try NumPy.load(npz: url)
        guard let xs = arrays["xs"], let ys = arrays["ys"] else {
            throw TaskError("\(url.path): a prompt file needs arrays 'xs' [B, N, D] and 'ys' [B, N]; found \(arrays.keys.sorted())")
        }
        do { return try PromptBatch(xs: xs, ys: ys, ws: arrays["ws"]) } catch let e as TaskError {
            throw TaskError("\(url.path): \(e.message)")
        }
    }
}

extension PromptBatch {
    /// The first `k` points of every prompt (a shorter prompt; the curriculum and prefix losses use it).
    public func prefix(points k: Int) -> PromptBatch {
        precondition(k >= 1 && k <= pointCount, "prefix: \(k) points requested from prompts of \(pointCount)")
        return PromptBatch(trusted: xs.slice(alongAxis: 1, 0..<k), ys: ys.slice(alongAxis: 1, 0..<k), ws: ws)
    }
}

extension PromptBatch {
    /// The prompts with only the first `k` input coordinates active (Garg et al.'s dimension curriculum): the
    /// others are zeroed and their share `x_j w_j` removed from every label, so y stays `w_{:k}ᵀ x_{:k}` plus
    /// the same noise. Needs the task weights `ws`.
    public func activeDimensions(_ k: Int) -> PromptBatch {
        guard let ws, k < dimension else { return self }
        precondition(k >= 1, "activeDimensions: k must be ≥ 1, got \(k)")
        let (b, n, d) = (batchSize, pointCount, dimension)
        var x = xs.scalars, y = ys.scalars
        for p in 0..<b {
            for i in 0..<n {
                for j in k..<d {
                    y[p * n + i] -= x[(p * n + i) * d + j] * ws.scalars[p * d + j]
                    x[(p * n + i) * d + j] = 0
                }
            }
        }
        return PromptBatch(trusted: Tensor(shape: xs.shape, scalars: x), ys: Tensor(shape: ys.shape, scalars: y), ws: ws)
    }
}
