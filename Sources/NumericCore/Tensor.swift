import Foundation
import _Differentiation

/// A dense, row-major array of `Double`s with value semantics: the one numeric type of the workbench.
///
/// Shapes are written at the end of lines as `[B, N, D]` (batch, context points, input dim). Rank 0 is a
/// scalar. `Tensor` is its own tangent vector; the additive zero is the rank-0 tensor `0`, which broadcasts
/// against any shape, so adding `.zero` to a gradient of any shape is the identity.
///
/// Every operation that differentiation may pass through is `@differentiable(reverse)` and has its
/// pullback written directly below it (see `Tensor+Arithmetic.swift` and siblings).
public struct Tensor: Equatable, Sendable {
    /// The extent of each axis, outermost first.
    public private(set) var shape: [Int]
    /// The elements in row-major order; `scalars.count == shape.reduce(1, *)`.
    public var scalars: [Double]

    /// A tensor of the given shape over the given row-major scalars.
    public init(shape: [Int], scalars: [Double]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative extent in shape \(shape)")
        let count = shape.reduce(1, *)
        precondition(count == scalars.count,
                     "Tensor: shape \(shape) holds \(count) scalars, but \(scalars.count) were given")
        self.shape = shape
        self.scalars = scalars
    }

    /// A rank-0 tensor holding one value.
    public init(_ value: Double) { self.init(shape: [], scalars: [value]) }

    /// A rank-1 tensor `[N]`.
    public init(_ vector: [Double]) { self.init(shape: [vector.count], scalars: vector) }

    /// A rank-2 tensor `[R, C]` from its rows; every row must have the same length.
    public init(_ rows: [[Double]]) {
        let columns = rows.first?.count ?? 0
        precondition(rows.allSatisfy { $0.count == columns }, "Tensor: rows have different lengths")
        self.init(shape: [rows.count, columns], scalars: rows.flatMap { $0 })
    }

    /// A rank-3 tensor `[B, R, C]` from its matrices; all must have the same shape.
    public init(_ matrices: [[[Double]]]) {
        let slices = matrices.map { Tensor($0) }
        let inner = slices.first?.shape ?? [0, 0]
        precondition(slices.allSatisfy { $0.shape == inner }, "Tensor: matrices have different shapes")
        self.init(shape: [matrices.count] + inner, scalars: slices.flatMap { $0.scalars })
    }

    /// A tensor of the given shape filled with `value`.
    public init(repeating value: Double, shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative extent in shape \(shape)")
        self.init(shape: shape, scalars: [Double](repeating: value, count: shape.reduce(1, *)))
    }

    /// A tensor whose every element `fill` writes exactly once (through a buffer of `count` elements): skips
    /// zero-filling memory that is about to be overwritten.
    @inlinable
    public static func filled(shape: [Int], _ fill: (UnsafeMutableBufferPointer<Double>) -> Void) -> Tensor {
        let count = shape.reduce(1, *)
        let scalars = [Double](unsafeUninitializedCapacity: count) { buf, initialized in
            fill(buf)
            initialized = count
        }
        return Tensor(shape: shape, scalars: scalars)
    }

    /// Zeros of the given shape.
    public init(zeros shape: [Int]) { self.init(repeating: 0, shape: shape) }

    /// The `n × n` identity matrix.
    public static func identity(_ n: Int) -> Tensor {
        var t = Tensor(zeros: [n, n])
        for i in 0..<n { t.scalars[i * n + i] = 1 }
        return t
    }

    /// A diagonal matrix `[N, N]` with the given diagonal.
    public static func diagonal(_ values: [Double]) -> Tensor {
        let n = values.count
        var t = Tensor(zeros: [n, n])
        for i in 0..<n { t.scalars[i * n + i] = values[i] }
        return t
    }

    public var rank: Int { shape.count }
    public var scalarCount: Int { scalars.count }

    /// The single value of a tensor with one element (any rank).
    public var scalar: Double {
        precondition(scalars.count == 1, "Tensor.scalar: tensor of shape \(shape) has \(scalars.count) elements")
        return scalars[0]
    }

    /// Whether every element is finite (no NaN, no ±∞).
    public var isFinite: Bool { scalars.allSatisfy { $0.isFinite } }

    /// Row-major offset of a full index.
    @inlinable
    func offset(_ indices: [Int]) -> Int {
        precondition(indices.count == shape.count, "Tensor: index \(indices) has the wrong rank for shape \(shape)")
        var o = 0
        for (i, n) in zip(indices, shape) {
            precondition(i >= 0 && i < n, "Tensor: index \(indices) is out of bounds for shape \(shape)")
            o = o * n + i
        }
        return o
    }

    /// Element access by full index, e.g. `t[b, i, j]`.
    public subscript(_ indices: Int...) -> Double {
        get { scalars[offset(indices)] }
        set { scalars[offset(indices)] = newValue }
    }

    /// The largest absolute difference to another tensor of the same shape.
    public func maxAbsDifference(_ other: Tensor) -> Double {
        precondition(shape == other.shape, "maxAbsDifference: shapes \(shape) and \(other.shape) differ")
        var m = 0.0
        for i in scalars.indices { m = Swift.max(m, abs(scalars[i] - other.scalars[i])) }
        return m
    }

    /// Euclidean (Frobenius) norm of all elements.
    public var norm: Double { scalars.reduce(0) { $0 + $1 * $1 }.squareRoot() }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        func fmt(_ x: Double) -> String { String(format: "%.6g", x) }
        switch rank {
        case 0: return fmt(scalars[0])
        case 1: return "[" + scalars.map(fmt).joined(separator: ", ") + "]"
        default:
            let last = shape[rank - 1]
            let rows = last == 0 ? [] : stride(from: 0, to: scalars.count, by: last).map {
                "[" + scalars[$0..<($0 + last)].map(fmt).joined(separator: ", ") + "]"
            }
            return "Tensor\(shape)(" + rows.joined(separator: ", ") + ")"
        }
    }
}

extension Tensor: Differentiable, AdditiveArithmetic {
    public typealias TangentVector = Tensor
    /// The additive zero: rank 0, broadcasting against any shape.
    public static var zero: Tensor { Tensor(0) }
    public mutating func move(by offset: Tensor) { self = self + offset }
}
