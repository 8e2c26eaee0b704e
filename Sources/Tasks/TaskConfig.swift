import Foundation
import NumericCore

/// The one switch over task families, as it appears in a config: `{"family": "linear", "dimension": 10, …}`
/// (the family's own fields next to the discriminator). A config written before families existed (a
/// linear-regression task without `"family"`) still loads as `linear`.
public enum TaskConfig: Equatable, Sendable {
    case linearRegression(LinearRegressionTask)
    case boolean(BooleanTask)
    case fourier(FourierTask)
    case gaussianMixture(GaussianMixtureTask)
    case graphConnectivity(GraphConnectivityTask)
    /// Saparov et al.'s graph search: a next-vertex question over edge-list tokens (a `SearchDecoder` reads it).
    case graphSearch(GraphSearchTask)

    public static let familyNames = [LinearRegressionTask.familyName, BooleanTask.familyName, FourierTask.familyName,
                                     GaussianMixtureTask.familyName, GraphConnectivityTask.familyName,
                                     GraphSearchTask.familyName]

    /// The family as a value of the protocol (for code that works on any family).
    public var family: any TaskFamily {
        switch self {
        case .linearRegression(let t): return t
        case .boolean(let t): return t
        case .fourier(let t): return t
        case .gaussianMixture(let t): return t
        case .graphConnectivity(let t): return t
        case .graphSearch(let t): return t
        }
    }

    public init(_ family: any TaskFamily) {
        switch family {
        case let t as LinearRegressionTask: self = .linearRegression(t)
        case let t as BooleanTask: self = .boolean(t)
        case let t as FourierTask: self = .fourier(t)
        case let t as GaussianMixtureTask: self = .gaussianMixture(t)
        case let t as GraphConnectivityTask: self = .graphConnectivity(t)
        case let t as GraphSearchTask: self = .graphSearch(t)
        default: preconditionFailure("TaskConfig: \(type(of: family)) is not registered here")
        }
    }

    public var familyName: String { type(of: family).familyName }
    public var targetKind: TargetKind { family.targetKind }
    public func validate() throws { try family.validate() }

    /// The linear-regression task, for code that only applies to it (nil for other families).
    public var linearRegression: LinearRegressionTask? {
        if case .linearRegression(let t) = self { return t }
        return nil
    }

    /// The graph-search task, for code that only applies to it (nil for other families).
    public var graphSearch: GraphSearchTask? {
        if case .graphSearch(let t) = self { return t }
        return nil
    }
}

extension TaskConfig: Codable {
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: AnyCodingKey.self)
        guard let name = try c.decodeIfPresent(String.self, forKey: AnyCodingKey("family")) else {
            // Before families: a bare linear-regression task.
            if c.contains(AnyCodingKey("dimension")) && c.contains(AnyCodingKey("inputs")) {
                self = .linearRegression(try LinearRegressionTask(from: decoder))
                return
            }
            throw decodingError(c, "a task needs \"family\": one of \(TaskConfig.familyNames.joined(separator: ", ")) (e.g. {\"family\": \"linear\", \"dimension\": 10, …})")
        }
        switch name {
        case LinearRegressionTask.familyName: self = .linearRegression(try LinearRegressionTask(from: decoder))
        case BooleanTask.familyName: self = .boolean(try BooleanTask(from: decoder))
        case FourierTask.familyName: self = .fourier(try FourierTask(from: decoder))
        case GaussianMixtureTask.familyName: self = .gaussianMixture(try GaussianMixtureTask(from: decoder))
        case GraphConnectivityTask.familyName: self = .graphConnectivity(try GraphConnectivityTask(from: decoder))
        case GraphSearchTask.familyName: self = .graphSearch(try GraphSearchTask(from: decoder))
        default:
            throw decodingError(c, "unknown task family '\(name)'; use one of \(TaskConfig.familyNames.joined(separator: ", "))")
        }
    }

    public func encode(to encoder: Encoder) throws {
        try family.encode(to: encoder)
        var c = encoder.container(keyedBy: AnyCodingKey.self)
        try c.encode(familyName, forKey: AnyCodingKey("family"))
    }
}
