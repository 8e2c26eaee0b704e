import Foundation
import Tasks

/// Named sweeps that make the papers' figures at CPU size (`icl sweep --preset NAME`). Each is a sweep file
/// written as a dictionary; `icl sweep --preset NAME --dry-run` lists its points.
public enum SweepPresets {
    public static let names = ["raventos-diversity", "depth-sweep", "mahankali-n"]

    public static func spec(_ name: String) throws -> [String: Any] {
        switch name {
        case "raventos-diversity":
            // Raventós et al. (2023): pretraining task diversity M = 2⁰…2¹⁵ (D = 8, 16 points, σ² = 0.25). Below the
            // threshold a model tracks dMMSE (the pool's posterior mean), above it ridge; the store keeps both
            // references' MSE and the model's distance to each (dmmse_mse, ridge_sigma2_mse, spd_dmmse,
            // spd_ridge_sigma2). CPU size: the 2-layer LSA of `raventos-pool`, 2,000 steps × 512 prompts, every other power
            // of 2 and 2¹⁵ (9 runs, about 4 minutes on 2 cores).
            return ["name": name,
                    "summary": "Raventós et al.: task diversity M = 1…32768 (every other power of 2), 2-layer LSA; where does the model leave dMMSE for ridge?",
                    "preset": "raventos-pool",
                    "set": ["training.steps": 2000, "training.batchSize": 512, "evaluation.prompts": 500],
                    "axes": [["path": "task.weights.size", "values": [1, 4, 16, 64, 256, 1024, 4096, 16384, 32768]]]]
        case "depth-sweep":
            // Akyürek et al. / Fu et al.: LSA depth 1…8 against the GD / Newton / ridge ladder (`akyurek-deep`'s task).
            return ["name": name,
                    "summary": "LSA layers 1…8 (d = 5, n = 15, σ = 0.1): which GD / Newton / ridge step does each depth's last layer match?",
                    "preset": "akyurek-deep",
                    "set": ["training.steps": 1000],
                    "axes": [["path": "model.layers", "values": [1, 2, 3, 4, 5, 6, 7, 8]]]]
        case "mahankali-n":
            // Mahankali et al. (2024): the trained 1-layer LSA's implied step η̂ against n/(n + d + 1 + σ²).
            return ["name": name,
                    "summary": "Mahankali et al.: implied η̂ (implied_eta) vs n/(n + d + 1 + σ²) (mahankali_eta) for n = 5, 10, 20, 40",
                    "preset": "mahankali",
                    "set": ["training.steps": 1500, "training.batchSize": 1024],
                    "axes": [["path": "task.points", "values": [6, 11, 21, 41]]]]
        default:
            throw TaskError("unknown sweep preset '\(name)'; known: \(names.joined(separator: ", "))")
        }
    }

    public static func named(_ name: String) throws -> ExpandedSweep {
        let data = try JSONSerialization.data(withJSONObject: try spec(name), options: [.sortedKeys])
        return try ExpandedSweep.expand(data, source: "sweep preset \(name)")
    }
}
