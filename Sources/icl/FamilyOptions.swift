import ArgumentParser
import Foundation
import Tasks

/// The task-family options shared by `icl tasks sample` and `icl baselines`. Strings end here: each option is
/// turned into the family's typed config, and an option that does not apply to the chosen family is an error.
struct FamilyOptions: ParsableArguments {
    @Option(help: "Task family: linear, boolean, fourier, gmm, graph or graph-search (default: the preset's; else linear for tasks sample, boolean for baselines).") var family: String?
    @Option(parsing: .unconditional, help: "Points per prompt N (default linear 11, gmm 11, boolean 70, fourier 41; graphs: V + 1, set by --vertices).") var points: Int?
    // Linear regression and Gaussian mixtures.
    @Option(parsing: .unconditional, help: "linear, gmm: input dimension D (default 10; gmm 5).") var dimension: Int?
    @Option(parsing: .unconditional, help: "linear, gmm: label noise σ (default 0; gmm 0.1).") var noise: Double?
    @Option(help: "linear: inputs gaussian (default), uniform (U(−½, ½)) or ill-conditioned.") var inputs: String?
    @Option(parsing: .unconditional, help: "linear: condition number κ for ill-conditioned inputs (default 100).") var kappa: Double?
    @Option(help: "linear: weights gaussian (default), sparse or pool.") var weights: String?
    @Option(parsing: .unconditional, help: "linear: non-zeros k for sparse weights (default 2).") var sparsity: Int?
    @Option(parsing: .unconditional, help: "linear: pool size M for pool weights (default 64).") var poolSize: Int?
    @Option(parsing: .unconditional, help: "linear: evaluation-time covariate shift x ← c·x (default 1).") var inputScale: Double?
    @Option(parsing: .unconditional, help: "gmm: distance of the two component means ±μ·e₁ from 0 (default 3).") var mixtureMean: Double?
    // Boolean functions.
    @Option(name: .customLong("class"), help: "boolean: class, one of \(BooleanFunctionClass.names.joined(separator: ", ")) (default conjunction).")
    var functionClass: String?
    @Option(parsing: .unconditional, help: "boolean: k (sparse-parity support, sparse-disjunction literals, nearest-neighbour random prefix; default 2).")
    var k: Int?
    @Option(parsing: .unconditional, help: "boolean: variables n (default 28).") var variables: Int?
    @Flag(help: "boolean: put the class's teaching sequence first (conjunction, monotone-conjunction, dnf3, parity, sparse-parity).")
    var teachingSequence = false
    @Flag(help: "boolean: turn off the balancing of labels.") var unbalanced = false
    @Option(help: "boolean: conventions, workbench (default) or bhattamishra (the reference code's; see Docs/Conventions.md).")
    var conventions: String?
    // Fourier series.
    @Option(help: "fourier: single, mixture, low-frequency-bias (P(N) ∝ 2^−N; alias complexity-bias) or high-frequency-bias (the prism code's) (default mixture).")
    var fourier: String?
    @Option(parsing: .unconditional, help: "fourier: max frequency N (default 10).") var maxFrequency: Int?
    // Graphs.
    @Option(help: "graph: distribution erdos-renyi, dag, star or balanced (default erdos-renyi).") var graph: String?
    @Option(parsing: .unconditional, help: "graph: vertices V (default 16).") var vertices: Int?
    @Option(parsing: .unconditional, help: "graph: edge probability for erdos-renyi and dag (default 0.1).") var p: Double?
    @Option(parsing: .unconditional, help: "graph: star arms / balanced branches (default 3).") var branches: Int?
    @Option(parsing: .unconditional, help: "graph: star arm length / balanced maximum lookahead (default 4).") var length: Int?
    @Flag(help: "graph: draw query pairs as before label balancing (about 18 % reachable on balanced graphs).")
    var legacyQueries = false

    /// The options given, by the families they belong to.
    private var given: [(flag: String, families: [String])] {
        let graphs = ["graph", "graph-search"]
        let all: [(String, Bool, [String])] = [
            ("--dimension", dimension != nil, ["linear", "gmm"]), ("--noise", noise != nil, ["linear", "gmm"]),
            ("--inputs", inputs != nil, ["linear"]), ("--kappa", kappa != nil, ["linear"]), ("--weights", weights != nil, ["linear"]),
            ("--sparsity", sparsity != nil, ["linear"]), ("--pool-size", poolSize != nil, ["linear"]),
            ("--input-scale", inputScale != nil, ["linear"]), ("--mixture-mean", mixtureMean != nil, ["gmm"]),
            ("--class", functionClass != nil, ["boolean"]), ("--k", k != nil, ["boolean"]), ("--variables", variables != nil, ["boolean"]),
            ("--teaching-sequence", teachingSequence, ["boolean"]), ("--unbalanced", unbalanced, ["boolean"]),
            ("--conventions", conventions != nil, ["boolean"]), ("--legacy-queries", legacyQueries, ["graph"]),
            ("--fourier", fourier != nil, ["fourier"]), ("--max-frequency", maxFrequency != nil, ["fourier"]),
            ("--graph", graph != nil, graphs), ("--vertices", vertices != nil, graphs), ("--p", p != nil, graphs),
            ("--branches", branches != nil, graphs), ("--length", length != nil, graphs),
            ("--points", points != nil, ["linear", "gmm", "boolean", "fourier"]),
        ]
        return all.filter { $0.1 }.map { ($0.0, $0.2) }
    }

    /// The task these options describe, starting from `base` (a preset's task) when given.
    func task(base: TaskConfig? = nil, seed: UInt64 = 0, defaultFamily: String = "linear") throws -> TaskConfig {
        let name = family ?? base?.familyName ?? defaultFamily
        guard TaskConfig.familyNames.contains(name) else {
            throw ValidationError("unknown --family '\(name)'; use \(TaskConfig.familyNames.joined(separator: ", "))")
        }
        if let wrong = given.first(where: { !$0.families.contains(name) }) {
            throw ValidationError("\(wrong.flag) does not apply to --family \(name) (it is for \(wrong.families.joined(separator: ", ")))")
        }
        if let base, base.familyName != name {
            throw ValidationError("the preset's task is \(base.familyName), not --family \(name)")
        }
        let task: TaskConfig
        switch name {
        case "linear": task = .linearRegression(try linear(base: base?.linearRegression, seed: seed))
        case "gmm":
            var t: GaussianMixtureTask
            if case .gaussianMixture(let b) = base { t = b } else { t = GaussianMixtureTask(dimension: dimension ?? 5, points: points ?? 11) }
            if dimension != nil || mixtureMean != nil {
                t = GaussianMixtureTask(dimension: dimension ?? t.dimension, points: points ?? t.points,
                                        means: nil, mixing: nil, scale: t.scale, noise: noise ?? t.noise)
                if let mu = mixtureMean { t.means = t.means.map { $0.map { $0 == 0 ? 0 : ($0 > 0 ? mu : -mu) } } }
            }
            if let points { t.points = points }
            if let noise { t.noise = noise }
            task = .gaussianMixture(t)
        case "boolean":
            var t: BooleanTask
            if case .boolean(let b) = base { t = b } else { t = BooleanTask(variables: 28, points: 70, functionClass: .conjunction) }
            if let c = functionClass { t.functionClass = try BooleanFunctionClass.named(c, k: k ?? 2) }
            else if let k { t.functionClass = try BooleanFunctionClass.named(t.functionClass.name, k: k) }
            if let variables { t.variables = variables }
            if let points { t.points = points }
            if teachingSequence { t.teachingSequence = true }
            if unbalanced { t.balanced = false }
            if let conventions {
                do { t.conventions = try BooleanConventions.named(conventions) } catch let e as TaskError { throw ValidationError(e.message) }
            }
            task = .boolean(t)
        case "fourier":
            var t: FourierTask
            if case .fourier(let b) = base { t = b } else { t = FourierTask.mixture(maxFrequency: 10, points: 41) }
            let n = maxFrequency ?? t.maxFrequency
            guard n >= 1 && n <= FourierTask.maxFrequencyCap else {
                throw ValidationError(n < 1 ? "fourier: max frequency must be ≥ 1, got \(n)"
                                            : "fourier: max frequency \(n) is over the cap of \(FourierTask.maxFrequencyCap)")
            }
            switch fourier {
            case nil: if maxFrequency != nil { t = t.frequencyPrior == nil ? FourierTask(maxFrequency: n, points: t.points) : .mixture(maxFrequency: n, points: t.points) }
            case "single": t = FourierTask(maxFrequency: n, points: t.points)
            case "mixture": t = .mixture(maxFrequency: n, points: t.points)
            case "low-frequency-bias", "complexity-bias": t = .lowFrequencyBiased(maxFrequency: n, points: t.points)
            case "high-frequency-bias": t = .highFrequencyBiased(maxFrequency: n, points: t.points)
            case let other?:
                throw ValidationError("unknown --fourier '\(other)'; use single, mixture, low-frequency-bias or high-frequency-bias")
            }
            if let points { t.points = points }
            task = .fourier(t)
        case "graph":
            var t: GraphConnectivityTask
            if case .graphConnectivity(let b) = base { t = b } else { t = GraphConnectivityTask(vertices: 16, distribution: .erdosRenyi(p: 0.1)) }
            if let vertices { t.vertices = vertices }
            t.distribution = try distribution(t.distribution)
            if legacyQueries { t.balancedLabels = false }
            task = .graphConnectivity(t)
        case "graph-search":
            var t = base?.graphSearch ?? GraphSearchTask(vertices: 16, distribution: .erdosRenyi(p: 0.1))
            if let vertices { t.vertices = vertices }
            t.distribution = try distribution(t.distribution)
            task = .graphSearch(t)
        default: throw ValidationError("unknown --family '\(name)'")
        }
        do { try task.validate() } catch let e as TaskError { throw ValidationError(e.message) }
        return task
    }

    /// The graph distribution `--graph` names (with `--p`, `--branches`, `--length`), else `current`.
    private func distribution(_ current: GraphTask.Distribution) throws -> GraphTask.Distribution {
        switch graph {
        case nil: return current
        case "erdos-renyi": return .erdosRenyi(p: p ?? 0.1)
        case "dag": return .randomDAG(p: p ?? 0.1)
        case "star": return .star(branches: branches ?? 3, armLength: length ?? 4)
        case "balanced": return .balanced(maxLookahead: length ?? 4, branches: branches ?? 3)
        case let other?: throw ValidationError("unknown --graph '\(other)'; use erdos-renyi, dag, star or balanced")
        }
    }

    private func linear(base: LinearRegressionTask?, seed: UInt64) throws -> LinearRegressionTask {
        var task = base ?? LinearRegressionTask(dimension: 10, points: 11)
        if let dimension { task.dimension = dimension }
        if let points { task.points = points }
        if let noise { task.noise = noise }
        if let inputScale { task.inputScale = inputScale }
        if kappa != nil && inputs != "ill-conditioned" { throw ValidationError("--kappa needs --inputs ill-conditioned") }
        switch inputs {
        case nil: break
        case "gaussian": task.inputs = .isotropicGaussian
        case "uniform": task.inputs = .uniform(halfWidth: 0.5)
        case "ill-conditioned": task.inputs = .illConditioned(kappa: kappa ?? 100, randomBasis: true)
        case let other?: throw ValidationError("unknown --inputs '\(other)'; use gaussian, uniform or ill-conditioned")
        }
        if sparsity != nil && weights != "sparse" { throw ValidationError("--sparsity needs --weights sparse") }
        if poolSize != nil && weights != "pool" { throw ValidationError("--pool-size needs --weights pool") }
        switch weights {
        case nil: break
        case "gaussian": task.weights = .gaussian(scale: 1)
        case "sparse": task.weights = .sparse(nonZeros: sparsity ?? 2, scale: 1)
        case "pool": task.weights = .pool(size: poolSize ?? 64, scale: 1, poolSeed: seed &+ 1)
        case let other?: throw ValidationError("unknown --weights '\(other)'; use gaussian, sparse or pool")
        }
        return task
    }
}
