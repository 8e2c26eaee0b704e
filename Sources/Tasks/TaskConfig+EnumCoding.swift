import Foundation

// Readable JSON for the task enums with payloads: `{"kind": "uniform", "halfWidth": 0.5}` instead of the
// synthesized `{"uniform": {"halfWidth": 0.5}}` (and no `_0` keys). Each decoder also reads the synthesized
// shape that configs written before this used.

private typealias Key = AnyCodingKey

extension InputDistribution {
    private enum Legacy: Codable {
        case isotropicGaussian, gaussianSpectrum([Double]), illConditioned(kappa: Double, randomBasis: Bool), uniform(halfWidth: Double)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        guard let kind = try c.decodeIfPresent(String.self, forKey: Key("kind")) else {
            switch try Legacy(from: decoder) {
            case .isotropicGaussian: self = .isotropicGaussian
            case .gaussianSpectrum(let s): self = .gaussianSpectrum(s)
            case .illConditioned(let k, let r): self = .illConditioned(kappa: k, randomBasis: r)
            case .uniform(let a): self = .uniform(halfWidth: a)
            }
            return
        }
        switch kind {
        case "isotropicGaussian": self = .isotropicGaussian
        case "gaussianSpectrum": self = .gaussianSpectrum(try c.decode([Double].self, forKey: Key("spectrum")))
        case "illConditioned":
            self = .illConditioned(kappa: try c.decode(Double.self, forKey: Key("kappa")),
                                   randomBasis: try c.decode(Bool.self, forKey: Key("randomBasis")))
        case "uniform": self = .uniform(halfWidth: try c.decode(Double.self, forKey: Key("halfWidth")))
        default: throw decodingError(c, "unknown inputs kind '\(kind)'; use isotropicGaussian, gaussianSpectrum, illConditioned or uniform")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        switch self {
        case .isotropicGaussian: try c.encode("isotropicGaussian", forKey: Key("kind"))
        case .gaussianSpectrum(let s): try c.encode("gaussianSpectrum", forKey: Key("kind")); try c.encode(s, forKey: Key("spectrum"))
        case .illConditioned(let k, let r):
            try c.encode("illConditioned", forKey: Key("kind"))
            try c.encode(k, forKey: Key("kappa"))
            try c.encode(r, forKey: Key("randomBasis"))
        case .uniform(let a): try c.encode("uniform", forKey: Key("kind")); try c.encode(a, forKey: Key("halfWidth"))
        }
    }
}

extension WeightDistribution {
    private enum Legacy: Codable {
        case gaussian(scale: Double), gaussianDiagonal([Double]), sparse(nonZeros: Int, scale: Double)
        case pool(size: Int, scale: Double, poolSeed: UInt64), mixture(means: [[Double]], mixing: [Double], scale: Double)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        guard let kind = try c.decodeIfPresent(String.self, forKey: Key("kind")) else {
            switch try Legacy(from: decoder) {
            case .gaussian(let s): self = .gaussian(scale: s)
            case .gaussianDiagonal(let v): self = .gaussianDiagonal(v)
            case .sparse(let k, let s): self = .sparse(nonZeros: k, scale: s)
            case .pool(let m, let s, let seed): self = .pool(size: m, scale: s, poolSeed: seed)
            case .mixture(let means, let mixing, let s): self = .mixture(means: means, mixing: mixing, scale: s)
            }
            return
        }
        func d<T: Decodable>(_ key: String) throws -> T { try c.decode(T.self, forKey: Key(key)) }
        switch kind {
        case "gaussian": self = .gaussian(scale: try d("scale"))
        case "gaussianDiagonal": self = .gaussianDiagonal(try d("variances"))
        case "sparse": self = .sparse(nonZeros: try d("nonZeros"), scale: try d("scale"))
        case "pool": self = .pool(size: try d("size"), scale: try d("scale"), poolSeed: try d("poolSeed"))
        case "mixture": self = .mixture(means: try d("means"), mixing: try d("mixing"), scale: try d("scale"))
        default: throw decodingError(c, "unknown weights kind '\(kind)'; use gaussian, gaussianDiagonal, sparse, pool or mixture")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        switch self {
        case .gaussian(let s): try c.encode("gaussian", forKey: Key("kind")); try c.encode(s, forKey: Key("scale"))
        case .gaussianDiagonal(let v): try c.encode("gaussianDiagonal", forKey: Key("kind")); try c.encode(v, forKey: Key("variances"))
        case .sparse(let k, let s):
            try c.encode("sparse", forKey: Key("kind")); try c.encode(k, forKey: Key("nonZeros")); try c.encode(s, forKey: Key("scale"))
        case .pool(let m, let s, let seed):
            try c.encode("pool", forKey: Key("kind")); try c.encode(m, forKey: Key("size"))
            try c.encode(s, forKey: Key("scale")); try c.encode(seed, forKey: Key("poolSeed"))
        case .mixture(let means, let mixing, let s):
            try c.encode("mixture", forKey: Key("kind")); try c.encode(means, forKey: Key("means"))
            try c.encode(mixing, forKey: Key("mixing")); try c.encode(s, forKey: Key("scale"))
        }
    }
}

extension BooleanFunctionClass {
    /// The class's name in configs and on the command line (`BooleanFunctionClass.names`).
    public var name: String {
        switch self {
        case .conjunction: return "conjunction"
        case .monotoneConjunction: return "monotone-conjunction"
        case .disjunction: return "disjunction"
        case .sparseDisjunction: return "sparse-disjunction"
        case .dnf3: return "dnf3"
        case .cnf3: return "cnf3"
        case .majority: return "majority"
        case .zeroOneThreshold: return "zero-one-threshold"
        case .integerHalfspace: return "integer-halfspace"
        case .parity: return "parity"
        case .sparseParity: return "sparse-parity"
        case .nearestNeighbour: return "nearest-neighbour"
        }
    }

    /// The class's one integer parameter and its key, if it has one.
    var parameter: (key: String, value: Int)? {
        switch self {
        case .sparseDisjunction(let k): return ("literals", k)
        case .sparseParity(let k): return ("support", k)
        case .nearestNeighbour(let k): return ("randomPrefix", k)
        default: return nil
        }
    }

    private enum Legacy: Codable {
        case conjunction, monotoneConjunction, disjunction, sparseDisjunction(literals: Int), dnf3, cnf3, majority
        case zeroOneThreshold, integerHalfspace, parity, sparseParity(support: Int), nearestNeighbour(randomPrefix: Int)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        guard let kind = try c.decodeIfPresent(String.self, forKey: Key("kind")) else {
            switch try Legacy(from: decoder) {
            case .conjunction: self = .conjunction
            case .monotoneConjunction: self = .monotoneConjunction
            case .disjunction: self = .disjunction
            case .sparseDisjunction(let k): self = .sparseDisjunction(literals: k)
            case .dnf3: self = .dnf3
            case .cnf3: self = .cnf3
            case .majority: self = .majority
            case .zeroOneThreshold: self = .zeroOneThreshold
            case .integerHalfspace: self = .integerHalfspace
            case .parity: self = .parity
            case .sparseParity(let k): self = .sparseParity(support: k)
            case .nearestNeighbour(let k): self = .nearestNeighbour(randomPrefix: k)
            }
            return
        }
        guard BooleanFunctionClass.names.contains(kind) else {
            throw decodingError(c, "unknown Boolean class '\(kind)'; use one of \(BooleanFunctionClass.names.joined(separator: ", "))")
        }
        let template = try BooleanFunctionClass.named(kind, k: 1)
        if let p = template.parameter {
            self = try BooleanFunctionClass.named(kind, k: try c.decode(Int.self, forKey: Key(p.key)))
        } else {
            self = template
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(name, forKey: Key("kind"))
        if let p = parameter { try c.encode(p.value, forKey: Key(p.key)) }
    }
}

extension GraphTask.Distribution {
    private enum Legacy: Codable {
        case erdosRenyi(p: Double), randomDAG(p: Double), star(branches: Int, armLength: Int)
        case balanced(maxLookahead: Int, branches: Int)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        guard let kind = try c.decodeIfPresent(String.self, forKey: Key("kind")) else {
            switch try Legacy(from: decoder) {
            case .erdosRenyi(let p): self = .erdosRenyi(p: p)
            case .randomDAG(let p): self = .randomDAG(p: p)
            case .star(let b, let l): self = .star(branches: b, armLength: l)
            case .balanced(let l, let b): self = .balanced(maxLookahead: l, branches: b)
            }
            return
        }
        func d<T: Decodable>(_ key: String) throws -> T { try c.decode(T.self, forKey: Key(key)) }
        switch kind {
        case "erdosRenyi": self = .erdosRenyi(p: try d("p"))
        case "randomDAG": self = .randomDAG(p: try d("p"))
        case "star": self = .star(branches: try d("branches"), armLength: try d("armLength"))
        case "balanced": self = .balanced(maxLookahead: try d("maxLookahead"), branches: try d("branches"))
        default: throw decodingError(c, "unknown graph distribution '\(kind)'; use erdosRenyi, randomDAG, star or balanced")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        switch self {
        case .erdosRenyi(let p): try c.encode("erdosRenyi", forKey: Key("kind")); try c.encode(p, forKey: Key("p"))
        case .randomDAG(let p): try c.encode("randomDAG", forKey: Key("kind")); try c.encode(p, forKey: Key("p"))
        case .star(let b, let l):
            try c.encode("star", forKey: Key("kind")); try c.encode(b, forKey: Key("branches")); try c.encode(l, forKey: Key("armLength"))
        case .balanced(let l, let b):
            try c.encode("balanced", forKey: Key("kind")); try c.encode(l, forKey: Key("maxLookahead"))
            try c.encode(b, forKey: Key("branches"))
        }
    }
}
