import Experiments
import Foundation
import Models
import Tasks
import Training
import XCTest

/// Configs: readable discriminated JSON that round-trips for every family × model kind, strict about unknown
/// keys, and still reading configs written before task families.
final class ConfigTests: XCTestCase {
    static let families: [TaskConfig] = [
        .linearRegression(LinearRegressionTask(dimension: 4, points: 9, inputs: .gaussianSpectrum([1, 2, 3, 4]),
                                               weights: .sparse(nonZeros: 2, scale: 1), noise: 0.1)),
        .linearRegression(LinearRegressionTask(dimension: 3, points: 9, inputs: .illConditioned(kappa: 10, randomBasis: true),
                                               weights: .pool(size: 4, scale: 1, poolSeed: 3))),
        .boolean(BooleanTask(variables: 6, points: 20, functionClass: .sparseParity(support: 2))),
        .boolean(BooleanTask(variables: 6, points: 20, functionClass: .conjunction, teachingSequence: true)),
        .fourier(FourierTask.mixture(maxFrequency: 3, points: 12)),
        .gaussianMixture(GaussianMixtureTask(dimension: 3, points: 8)),
        .graphConnectivity(GraphConnectivityTask(vertices: 6, distribution: .balanced(maxLookahead: 2, branches: 2))),
    ]
    static let models: [ModelSpec] = [
        ModelSpec(kind: .lsa, layers: 2, heads: 2, tokenClamp: 50),
        ModelSpec(kind: .looped, depth: 3, evaluationDepth: 6, injection: .additive),
        ModelSpec(kind: .restricted, depth: 4, initStd: 0, symmetricPreconditioner: true),
    ]

    func decode(_ json: String) throws -> ExperimentConfig {
        try StrictJSON.decode(ExperimentConfig.self, from: Data(json.utf8), source: "test.json")
    }

    func testEveryFamilyAndModelKindRoundTrips() throws {
        for task in ConfigTests.families {
            for model in ConfigTests.models {
                var c = ExperimentConfig(name: "rt", task: task, model: model,
                                         training: TrainingConfig(steps: 3, objective: task.family.everyPointIsTarget ? .everyPrefix : .query,
                                                                  curriculum: Ramp(start: 3, increment: 1, every: 2)))
                c.evaluation.task = task
                try c.validate()
                let json = String(decoding: c.jsonData(), as: UTF8.self)
                XCTAssertFalse(json.contains("\"_0\""), json)
                XCTAssertTrue(json.contains("\"family\" : \"\(task.familyName)\""), json)
                XCTAssertTrue(json.contains("\"kind\" : \"\(model.kind.rawValue)\""), json)
                XCTAssertEqual(try decode(json), c, "\(task.familyName) × \(model.kind)")
            }
        }
    }

    func testUnknownKeysAreNamed() throws {
        let base = String(decoding: try Presets.named("ci-tiny").jsonData(), as: UTF8.self)
        let cases = [
            ("\"noise\" : 0", "\"noise\" : 0, \"noize\" : 3", "unknown key 'task.noize'"),
            ("\"noise\" : 0", "\"noize\" : 3", "unknown key 'task.noize'"),
            ("\"dimension\" : 3", "\"dimensoin\" : 3", "'dimensoin' there is not a key"),
            ("\"steps\" : 200", "\"steps\" : 200, \"stepz\" : 1", "unknown key 'training.stepz'"),
            ("\"halfWidth\"", "\"halfWidht\"", nil),
            ("\"kind\" : \"isotropicGaussian\"", "\"kind\" : \"isotropicGaussian\", \"scale\" : 2", "unknown key 'task.inputs.scale'"),
            ("\"family\" : \"linear\"", "\"family\" : \"quadratic\"", "unknown task family 'quadratic'"),
        ]
        for (from, to, message) in cases where base.contains(from) {
            let edited = base.replacingOccurrences(of: from, with: to)
            XCTAssertThrowsError(try decode(edited)) { XCTAssertTrue("\($0)".contains(message ?? ""), "\($0)") }
        }
        XCTAssertThrowsError(try decode("{\"name\": \"x\", \"task\": {\"family\": \"linear\", \"dimension\": 3, \"points\": 5, \"inputs\": {\"kind\": \"isotropicGaussian\"}, \"weights\": {\"kind\": \"gaussian\", \"scale\": 1}, \"noise\": 0, \"inputScale\": 1, \"weightScale\": 1}, \"modle\": {}}")) {
            XCTAssertTrue("\($0)".contains("unknown key 'modle'"), "\($0)")
        }
    }

    func testConfigsWrittenBeforeTaskFamiliesStillLoad() throws {
        // The synthesized shape of the old ComparisonConfig: no "family", enums as {"case": {payload}}.
        let legacy = """
        {"evaluation":{"newtonSteps":8,"prompts":200,"ridgeHigh":1000,"ridgeLow":0.0001,"ridgePoints":12,"seed":12345},
         "model":{"depth":1,"heads":1,"initStd":0.02,"kind":"lsa","layers":1},"modelSeed":0,"name":"ci-tiny",
         "summary":"A seconds-long smoke configuration for tests",
         "task":{"dimension":3,"inputScale":1,"inputs":{"isotropicGaussian":{}},"noise":0,"points":8,"weightScale":1,
                 "weights":{"gaussian":{"scale":1}}},
         "training":{"batchSize":256,"learningRate":0.01,"logEvery":0,"seed":0,"steps":200}}
        """
        XCTAssertEqual(try decode(legacy), try Presets.named("ci-tiny"))
        let spectrum = legacy.replacingOccurrences(of: "{\"isotropicGaussian\":{}}", with: "{\"gaussianSpectrum\":{\"_0\":[1,2,3]}}")
        XCTAssertEqual(try decode(spectrum).task.linearRegression?.inputs, .gaussianSpectrum([1, 2, 3]))
    }

    func testOptionsThatDoNotApplyAreErrors() {
        XCTAssertThrowsError(try ModelSpec(kind: .lsa, layers: 2, injection: .additive).validate()) {
            XCTAssertTrue("\($0)".contains("'injection' applies to kind looped"), "\($0)")
        }
        XCTAssertThrowsError(try ModelSpec(kind: .looped, depth: 3, symmetricPreconditioner: true).validate())
        // Truncated backpropagation applies to looped models, LSA or transformer, and reaches the model.
        XCTAssertThrowsError(try ModelSpec(kind: .lsa, layers: 2, window: 1).validate()) {
            XCTAssertTrue("\($0)".contains("'window' applies to kinds looped"), "\($0)")
        }
        XCTAssertNoThrow(try ModelSpec(kind: .looped, depth: 4, window: 2).validate())
        XCTAssertEqual((ModelSpec(kind: .looped, depth: 4, window: 2).makeModel(dimension: 3, seed: 1) as? Looped<LSALayer>)?.window, 2)
        XCTAssertThrowsError(try ModelSpec(kind: .restricted, layers: 2, depth: 3).validate())
        var c = ExperimentConfig(name: "x", task: .linearRegression(LinearRegressionTask(dimension: 3, points: 5)),
                                 model: ModelSpec(), training: TrainingConfig())
        c.evaluation.task = .boolean(BooleanTask(variables: 3, points: 5, functionClass: .conjunction))
        XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains("must be the training family"), "\($0)") }
    }
}
