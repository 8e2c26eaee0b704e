import Foundation

/// A validator for the subset of JSON Schema (2020-12) that `Docs/report.schema.json` uses: `type` (one or a
/// list), `const`, `enum`, `required`, `properties`, `additionalProperties` (false or a schema), `propertyNames`,
/// `minProperties`, `items`, `minItems`, `pattern`, `minimum` and local `$ref`s (`#/$defs/NAME`). A keyword
/// outside the subset is an error, so the schema cannot silently say more than this checks. The CI script
/// (`scripts/check_outputs.py`) validates the same files with the `jsonschema` package.
struct JSONSchemaValidator {
    let root: [String: Any]

    static let keywords: Set<String> = ["$schema", "$id", "title", "description", "type", "const", "enum", "required",
                                        "properties", "additionalProperties", "propertyNames", "minProperties", "items",
                                        "minItems", "pattern", "minimum", "$ref", "$defs"]

    /// Every violation, as "path: problem" (empty: valid).
    func errors(_ value: Any) -> [String] { check(value, root, "$") }

    func check(_ value: Any, _ schema: [String: Any], _ path: String) -> [String] {
        var out: [String] = []
        for key in schema.keys where !JSONSchemaValidator.keywords.contains(key) { out.append("\(path): unsupported keyword \(key)") }
        if let ref = schema["$ref"] as? String {
            guard ref.hasPrefix("#/$defs/"), let defs = root["$defs"] as? [String: Any],
                  let target = defs[String(ref.dropFirst(8))] as? [String: Any] else { return out + ["\(path): bad $ref \(ref)"] }
            out += check(value, target, path)
        }
        if let t = schema["type"] {
            let types = (t as? [String]) ?? [t as! String]
            if !types.contains(where: { JSONSchemaValidator.isType(value, $0) }) {
                out.append("\(path): \(JSONSchemaValidator.describe(value)) is not of type \(types.joined(separator: "|"))")
            }
        }
        if let c = schema["const"], !JSONSchemaValidator.equal(value, c) { out.append("\(path): \(value) is not \(c)") }
        if let e = schema["enum"] as? [Any], !e.contains(where: { JSONSchemaValidator.equal(value, $0) }) {
            out.append("\(path): \(value) is not one of \(e)")
        }
        if let s = value as? String, let p = schema["pattern"] as? String, s.range(of: p, options: .regularExpression) == nil {
            out.append("\(path): \"\(s)\" does not match \(p)")
        }
        if let m = schema["minimum"] as? NSNumber, let n = value as? NSNumber, !(value is String), n.doubleValue < m.doubleValue {
            out.append("\(path): \(n) < \(m)")
        }
        if let object = value as? [String: Any] {
            for r in (schema["required"] as? [String]) ?? [] where object[r] == nil { out.append("\(path): missing \(r)") }
            if let m = schema["minProperties"] as? Int, object.count < m { out.append("\(path): fewer than \(m) properties") }
            let properties = (schema["properties"] as? [String: Any]) ?? [:]
            for (k, v) in object.sorted(by: { $0.key < $1.key }) {
                if let names = schema["propertyNames"] as? [String: Any] { out += check(k, names, "\(path) key \(k)") }
                if let p = properties[k] as? [String: Any] {
                    out += check(v, p, "\(path).\(k)")
                } else if let extra = schema["additionalProperties"] {
                    if let allowed = extra as? [String: Any] { out += check(v, allowed, "\(path).\(k)") }
                    else if (extra as? Bool) == false || (extra as? NSNumber)?.boolValue == false { out.append("\(path): unexpected key \(k)") }
                }
            }
        }
        if let array = value as? [Any], !(value is [String: Any]) {
            if let m = schema["minItems"] as? Int, array.count < m { out.append("\(path): fewer than \(m) items") }
            if let items = schema["items"] as? [String: Any] {
                for (i, v) in array.enumerated() { out += check(v, items, "\(path)[\(i)]") }
            }
        }
        return out
    }

    static func isType(_ v: Any, _ type: String) -> Bool {
        switch type {
        case "null": return v is NSNull
        case "string": return v is String
        case "object": return v is [String: Any]
        case "array": return v is [Any] && !(v is [String: Any])
        case "number": return !(v is String) && !(v is NSNull) && (v as? NSNumber) != nil
        case "integer":
            guard !(v is String), let n = v as? NSNumber else { return false }
            return n.doubleValue == n.doubleValue.rounded()
        case "boolean": return v is Bool
        default: return false
        }
    }

    static func equal(_ a: Any, _ b: Any) -> Bool {
        if let x = a as? String, let y = b as? String { return x == y }
        if a is String || b is String { return false }
        if let x = a as? NSNumber, let y = b as? NSNumber { return x.doubleValue == y.doubleValue }
        return false
    }

    static func describe(_ v: Any) -> String {
        v is NSNull ? "null" : v is String ? "\"\(v)\"" : "\(v)"
    }
}

/// JSON parsed into Foundation values (`[String: Any]`, `[Any]`, `String`, `NSNumber`, `NSNull`) through
/// `JSONDecoder`, which reads every number back to the Double that was written. (`JSONSerialization` on Linux
/// is off by an ulp for about a third of full-precision doubles, so the bit-for-bit checks cannot use it.)
enum ExactJSON: Decodable {
    case null, bool(Bool), number(Double), string(String), array([ExactJSON]), object([String: ExactJSON])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let x = try? c.decode(Double.self) { self = .number(x) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([ExactJSON].self) { self = .array(a) }
        else { self = .object(try c.decode([String: ExactJSON].self)) }
    }

    var foundation: Any {
        switch self {
        case .null: return NSNull()
        case .bool(let b): return b
        case .number(let x): return x == x.rounded() && abs(x) < 1e15 ? NSNumber(value: Int(x)) : NSNumber(value: x)
        case .string(let s): return s
        case .array(let a): return a.map(\.foundation)
        case .object(let o): return o.mapValues(\.foundation)
        }
    }

    static func parse(_ data: Data) throws -> Any { try JSONDecoder().decode(ExactJSON.self, from: data).foundation }
}
