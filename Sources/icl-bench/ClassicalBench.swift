import ClassicalLearners
import Foundation
import NumericCore
import Tasks

/// Classical learners' throughput in the NumPy peer's setting (shared/peers/d_classical.py): B = 10,000
/// prompts, D = 20, N = 40 context points, noiseless, one query each; every iterate's prediction.
func classicalBenchmark(only: String? = nil) -> [(name: String, peerKey: String, promptsPerSecond: Double, mse: Double)] {
    let (b, d, n) = (10_000, 20, 40)
    var rng = Xoshiro256(seed: 0)
    let xs = Tensor.randomNormal([b, n, d], using: &rng), w = Tensor.randomNormal([b, d], using: &rng)
    let ys = matmul(xs, w.reshaped(to: [b, d, 1])).reshaped(to: [b, n])
    let xq = Tensor.randomNormal([b, 1, d], using: &rng)
    let yq = matmul(xq, w.reshaped(to: [b, d, 1])).reshaped(to: [b, 1])
    let learners: [(String, String, InContextLearner)] = [
        ("OLS (min-norm; Householder QR, SVD if rank-deficient)", "ols_pinv", LeastSquares()),
        ("ridge λ = 0.1", "ridge", Ridge(penalty: 0.1)),
        ("GD, 100 steps, η = 1/λ_max, every iterate", "gd100", GradientDescent(steps: 100, stepSize: .inverseLipschitz, lossScaling: .sum)),
        ("Newton–Schulz, 10 iterations, every iterate", "ns10", IterativeNewton(steps: 10, alpha: .spectral)),
    ]
    if only == "parts" {
        let s = matmul(xs, xs, transposeA: true)
        print(String(format: "  S = XᵀX: %.1f ms", bestSeconds(repeats: 3) { _ = matmul(xs, xs, transposeA: true) } * 1e3))
        print(String(format: "  λ_max per prompt (LAPACK dsyevd): %.1f ms", bestSeconds(repeats: 3) {
            _ = IterativeNewton(steps: 0, alpha: .spectral).weightTrajectory(contextXs: xs, contextYs: ys) } * 1e3))
        print(String(format: "  Newton 10 steps, α Frobenius: %.1f ms", bestSeconds(repeats: 3) {
            _ = IterativeNewton(steps: 10).weightTrajectory(contextXs: xs, contextYs: ys) } * 1e3))
        print(String(format: "  one batched [B,20,20]² product: %.1f ms", bestSeconds(repeats: 3) { _ = matmul(s, s) } * 1e3))
        print(String(format: "  M·2 − M: %.1f ms", bestSeconds(repeats: 3) { _ = s * 2 - s } * 1e3))
        return []
    }
    return learners.filter { only == nil || $0.1 == only }.map { (name, key, learner) in
        var last = Tensor(0)
        let t = bestSeconds(repeats: 3) { last = learner.trajectory(contextXs: xs, contextYs: ys, queries: xq).final }
        var mse = 0.0
        for i in 0..<b { mse += (last.scalars[i] - yq.scalars[i]) * (last.scalars[i] - yq.scalars[i]) }
        return (name, key, Double(b) / t, mse / Double(b))
    }
}

/// Runs the NumPy peer and returns prompts/s (best of its repetitions) by method.
func numpyClassical(peers relative: String) -> [String: Double] {
    let peers = URL(fileURLWithPath: relative).standardizedFileURL.path
    let script = (peers as NSString).appendingPathComponent("d_classical.py")
    guard FileManager.default.fileExists(atPath: script) else { return [:] }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", script, "--methods", "ols_pinv,ols_qr,ridge,gd100,ns10", "--reps", "3"]
    p.currentDirectoryURL = URL(fileURLWithPath: peers)
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = FileHandle.nullDevice
    guard (try? p.run()) != nil else { return [:] }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    var out: [String: Double] = [:]
    for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where line.hasPrefix("RESULT ") {
        if let obj = try? JSONSerialization.jsonObject(with: Data(line.dropFirst(7).utf8)) as? [String: Any],
           let m = obj["method"] as? String, let r = obj["prompts_per_s_best"] as? Double { out[m] = r }
    }
    return out
}
