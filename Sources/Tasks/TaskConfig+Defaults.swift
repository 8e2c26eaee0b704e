import Foundation

// Hand-written configs may leave out any key with a default (the sizes have none): the decoders below fill
// in what the initializers would. Encoding stays synthesized and writes every key.

private typealias Key = AnyCodingKey

extension KeyedDecodingContainer where K == AnyCodingKey {
    /// The value at `key`, or `fallback` when the key is absent.
    func value<T: Decodable>(_ key: String, or fallback: T) throws -> T {
        try decodeIfPresent(T.self, forKey: Key(key)) ?? fallback
    }
}

extension LinearRegressionTask {
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        self.init(dimension: try c.decode(Int.self, forKey: Key("dimension")), points: try c.decode(Int.self, forKey: Key("points")),
                  inputs: try c.value("inputs", or: .isotropicGaussian), weights: try c.value("weights", or: .gaussian(scale: 1)),
                  noise: try c.value("noise", or: 0), inputScale: try c.value("inputScale", or: 1),
                  weightScale: try c.value("weightScale", or: 1))
    }
}

extension GaussianMixtureTask {
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        self.init(dimension: try c.decode(Int.self, forKey: Key("dimension")), points: try c.decode(Int.self, forKey: Key("points")),
                  means: try c.decodeIfPresent([[Double]].self, forKey: Key("means")),
                  mixing: try c.decodeIfPresent([Double].self, forKey: Key("mixing")),
                  scale: try c.value("scale", or: 1), noise: try c.value("noise", or: 0.1))
    }
}
