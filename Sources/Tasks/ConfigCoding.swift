import Foundation

/// A coding key from any string (for discriminated JSON objects such as `{"kind": "uniform", "halfWidth": 1}`).
public struct AnyCodingKey: CodingKey, Hashable {
    public var stringValue: String
    public var intValue: Int? { nil }
    public init(_ s: String) { stringValue = s }
    public init?(stringValue: String) { self.stringValue = stringValue }
    public init?(intValue: Int) { return nil }
}

/// Strict JSON decoding for configs: a key the type does not read is an error naming the key's path, so a
/// typo (`"noize": 3`) cannot silently run another experiment.
///
/// The check decodes the value, encodes it again, and walks the input and the re-encoded trees together: a key
/// in the input that the re-encoding lacks was not read. Keys the input omits are fine (defaults), and so is
/// an object written in a legacy shape (it lacks the `kind` / `family` discriminator that the re-encoding has;
/// such objects are read by their legacy decoders and not checked key by key).
public enum StrictJSON {
    public static func decode<T: Codable>(_ type: T.Type, from data: Data, source: String) throws -> T {
        let value: T
        do { value = try JSONDecoder().decode(T.self, from: data) } catch let e as DecodingError {
            var message = describe(e)
            if case .keyNotFound(let key, let c) = e, let input = try? JSONSerialization.jsonObject(with: data),
               let near = keys(in: input, at: c.codingPath).first(where: { editDistance($0, key.stringValue) <= 2 }) {
                message += "; '\(near)' there is not a key (a typo of '\(key.stringValue)'?)"
            }
            throw TaskError("\(source): \(message)")
        } catch let e as TaskError {
            throw TaskError("\(source): \(e.message)")
        }
        let input = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        let encoder = JSONEncoder()
        let again = try JSONSerialization.jsonObject(with: try encoder.encode(value), options: [.fragmentsAllowed])
        if let problem = unknownKey(input, again, path: "") { throw TaskError("\(source): \(problem)") }
        return value
    }

    static func unknownKey(_ input: Any, _ known: Any, path: String) -> String? {
        if let i = input as? [String: Any], let k = known as? [String: Any] {
            for discriminator in ["kind", "family"] where k[discriminator] != nil && i[discriminator] == nil {
                return nil   // a legacy shape, read by its legacy decoder
            }
            for key in i.keys.sorted() {
                let here = path.isEmpty ? key : "\(path).\(key)"
                guard let sub = k[key] else {
                    if i[key] is NSNull { continue }
                    let known = k.keys.sorted().joined(separator: ", ")
                    return "unknown key '\(here)' (keys here: \(known.isEmpty ? "none" : known))"
                }
                if let problem = unknownKey(i[key]!, sub, path: here) { return problem }
            }
        } else if let i = input as? [Any], let k = known as? [Any], i.count == k.count {
            for (n, (a, b)) in zip(i, k).enumerated() {
                if let problem = unknownKey(a, b, path: "\(path)[\(n)]") { return problem }
            }
        }
        return nil
    }

    /// The keys of the object at `path` in a JSON tree (empty if there is none).
    static func keys(in tree: Any, at path: [CodingKey]) -> [String] {
        var node: Any? = tree
        for k in path {
            if let i = k.intValue { node = (node as? [Any]).flatMap { i < $0.count ? $0[i] : nil } }
            else { node = (node as? [String: Any])?[k.stringValue] }
        }
        return ((node as? [String: Any])?.keys).map { $0.sorted() } ?? []
    }

    /// Levenshtein distance (for "did you mean" hints).
    static func editDistance(_ a: String, _ b: String) -> Int {
        let (a, b) = (Array(a), Array(b))
        var row = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var previous = row[0]
            row[0] = i
            for j in 1...max(b.count, 1) where !b.isEmpty {
                let old = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                previous = old
            }
        }
        return row[b.count]
    }

    /// One line for a decoding error: the path and what was wrong.
    public static func describe(_ error: DecodingError) -> String {
        func at(_ path: [CodingKey]) -> String {
            let p = path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            return p.isEmpty ? "at the top level" : "at '\(p)'"
        }
        switch error {
        case .keyNotFound(let key, let c): return "missing key '\(key.stringValue)' \(at(c.codingPath))"
        case .typeMismatch(let t, let c): return "expected \(t) \(at(c.codingPath)): \(c.debugDescription)"
        case .valueNotFound(let t, let c): return "expected a \(t) value \(at(c.codingPath))"
        case .dataCorrupted(let c): return "\(c.debugDescription) \(at(c.codingPath))"
        @unknown default: return "\(error)"
        }
    }
}

/// A decoding failure with a message that says what was expected (used by the discriminated enums).
func decodingError(_ container: KeyedDecodingContainer<AnyCodingKey>, _ message: String) -> DecodingError {
    DecodingError.dataCorrupted(.init(codingPath: container.codingPath, debugDescription: message))
}
