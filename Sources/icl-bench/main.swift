// icl-bench: release-mode speed of the numeric core, each figure next to the same work in NumPy run on
// this machine in the same invocation, as a ratio (> 1 means the workbench is faster).
//   swift build -c release --product icl-bench && .build/release/icl-bench [--peer scripts/bench_numpy.py]
import Dispatch
import Foundation
import NumericCore
import _Differentiation

func bestSeconds(repeats: Int, inner: Int = 1, _ body: () -> Void) -> Double {
    body()   // warm-up
    var times: [Double] = []
    for _ in 0..<repeats {
        let t = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<inner { body() }
        times.append(Double(DispatchTime.now().uptimeNanoseconds - t) / 1e9 / Double(inner))
    }
    times.sort()
    return times[0]   // the minimum: the least noisy estimator on a shared machine
}

/// Runs the NumPy peer script and returns its timings by name.
func numpyTimings(script: String) -> [String: Double] {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", script]
    let pipe = Pipe()
    p.standardOutput = pipe
    do { try p.run() } catch {
        FileHandle.standardError.write("icl-bench: could not run python3 \(script): \(error)\n".data(using: .utf8)!)
        return [:]
    }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    var out: [String: Double] = [:]
    for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
        if let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
           let name = obj["name"] as? String, let s = obj["seconds"] as? Double { out[name] = s }
    }
    return out
}

var peerScript = "scripts/bench_numpy.py"
var profileOnly = false   // --profile: only the LSA forward+backward, no peer (for callgrind/perf)
var trainOnly = false     // --train: only the LSA training throughput
var peersDirectory = "../shared/peers"
var args = CommandLine.arguments.dropFirst()
while let a = args.popFirst() {
    if a == "--peer", let p = args.popFirst() { peerScript = p }
    else if a == "--profile" { profileOnly = true }
    else if a == "--train" { trainOnly = true }
    else if a == "--peers", let p = args.popFirst() { peersDirectory = p }
    else if a == "--classical" { }
    else { print("usage: icl-bench [--peer path/to/bench_numpy.py] [--peers DIR] [--profile] [--train]"); exit(a == "--help" ? 0 : 2) }
}

print("# icl-bench")
if trainOnly {
    let r = lsaTrainingBenchmark(steps: 200, breakdown: true)
    print(String(format: "LSA training: %.1f steps/s (loss %.4f → %.4f)", r.stepsPerSecond, r.firstLoss, r.lastLoss))
    exit(0)
}
if CommandLine.arguments.contains("--classical") {
    let only = ProcessInfo.processInfo.environment["ICL_BENCH_ONLY"]
    for r in classicalBenchmark(only: only) { print(String(format: "%@: %.0f prompts/s (query MSE %.3g)", r.name, r.promptsPerSecond, r.mse)) }
    exit(0)
}
print("BLAS: \(BLASInfo.summary)")
print("config: \(BLASInfo.configuration); workbench threads: \(Parallel.workerCount)")

var rows: [(String, String, Double, String)] = []   // name, unit, ours (s), NumPy peer key
var rng = Xoshiro256(seed: 0)

for n in [64, 256, 1024] {
    let a = Tensor.randomNormal([n, n], using: &rng), b = Tensor.randomNormal([n, n], using: &rng)
    let t = bestSeconds(repeats: 5, inner: max(1, 2_000_000 / (n * n * n) * 10)) { _ = matmul(a, b) }
    rows.append(("dgemm \(n)×\(n) (GFLOP/s)", "gflops", t, "gemm\(n)"))
}

let (B, N, E) = (2048, 11, 11)
let ba = Tensor.randomNormal([B, N, N], using: &rng), bb = Tensor.randomNormal([B, N, N], using: &rng)
rows.append(("batched matmul [2048,11,11]² (ms)", "ms",
             bestSeconds(repeats: 7, inner: 5) { _ = matmul(ba, bb) }, "batched"))

// The same one-layer LSA loss as the NumPy peer: tokens Z [B, N, E], last token the query.
let z = Tensor.randomNormal([B, N, E], using: &rng), y = Tensor.randomNormal([B], using: &rng)
let wKQ = Tensor.randomNormal([E, E], using: &rng) * 0.1, wPV = Tensor.randomNormal([E, E], using: &rng) * 0.1
var maskScalars = [Double](repeating: 1, count: N); maskScalars[N - 1] = 0
let contextMask = Tensor(shape: [1, N, 1], scalars: maskScalars)
@differentiable(reverse)
func lsaLoss(_ wKQ: Tensor, _ wPV: Tensor) -> Tensor {
    let ctx = z * contextMask
    let c = matmul(ctx, ctx, transposeA: true)
    let qc = matmul(matmul(z, wKQ, transposeB: true), c)
    let out = z + matmul(qc, wPV, transposeB: true) / Double(N - 1)
    let pred = -out.slice(alongAxis: 1, (N - 1)..<N).slice(alongAxis: 2, (E - 1)..<E).reshaped(to: [B])
    return meanSquaredError(predicted: pred, expected: y)
}
if profileOnly {
    func show(_ name: String, _ body: () -> Void) {
        print(name, String(format: "%.3f ms", bestSeconds(repeats: 15, inner: 3, body) * 1e3))
    }
    let ctx = z * contextMask, c = matmul(ctx, ctx, transposeA: true)
    let q = matmul(z, wKQ, transposeB: true)
    show("z * mask") { _ = z * contextMask }
    show("z + z") { _ = z + z }
    show("z / 10") { _ = z / 10 }
    show("ctxᵀctx batched") { _ = matmul(ctx, ctx, transposeA: true) }
    show("z wKQᵀ flat") { _ = matmul(z, wKQ, transposeB: true) }
    show("q c batched") { _ = matmul(q, c) }
    show("q cᵀ batched") { _ = matmul(q, c, transposeB: true) }
    show("gᵀ q flat reduce") { _ = matmul(q.reshaped(to: [B * N, E]), q.reshaped(to: [B * N, E]), transposeA: true) }
    show("slice") { _ = z.slice(alongAxis: 1, (N - 1)..<N) }
    show("zeros") { _ = Tensor(zeros: [B, N, E]) }
    show("forward") { _ = lsaLoss(wKQ, wPV) }
    show("shared weight grad (sumOfRowOuterProducts)") { _ = Tensor.sumOfRowOuterProducts(z.reshaped(to: [B * N, E]), q.reshaped(to: [B * N, E])) }
    show("q wKQ (shared, not transposed)") { _ = matmul(q, wKQ) }
    show("valueWithPullback only") { _ = valueWithPullback(at: wKQ, wPV, of: lsaLoss) }
    let (_, pb) = valueWithPullback(at: wKQ, wPV, of: lsaLoss)
    show("pullback only") { _ = pb(Tensor(1)) }
    let pred = z.slice(alongAxis: 1, (N - 1)..<N).slice(alongAxis: 2, (E - 1)..<E).reshaped(to: [B])
    show("mse fwd+bwd") { _ = valueWithGradient(at: pred) { meanSquaredError(predicted: $0, expected: y) } }
    show("slice fwd+bwd") { _ = valueWithGradient(at: z) { $0.slice(alongAxis: 1, (N - 1)..<N).slice(alongAxis: 2, (E - 1)..<E).sum() } }
    show("forward+backward") { _ = valueWithGradient(at: wKQ, wPV, of: lsaLoss) }
    exit(0)
}
rows.append(("LSA loss forward B=2048 N=11 D=11 (ms)", "ms",
             bestSeconds(repeats: 7, inner: 5) { _ = lsaLoss(wKQ, wPV) }, "lsa_forward"))
rows.append(("LSA loss forward+backward (ms)", "ms",
             bestSeconds(repeats: 7, inner: 5) { _ = valueWithGradient(at: wKQ, wPV, of: lsaLoss) },
             "lsa_forward_backward"))

FileHandle.standardError.write("running NumPy peer (\(peerScript))…\n".data(using: .utf8)!)
let numpy = numpyTimings(script: peerScript)
if numpy.isEmpty { print("(NumPy peer unavailable: ratios omitted)") }

print("")
print("| operation | workbench | NumPy | ratio (NumPy time / workbench time) |")
print("|---|---:|---:|---:|")
for (name, unit, ours, key) in rows {
    let theirs = numpy[key]
    func show(_ s: Double) -> String {
        if unit == "gflops" {
            let n = Double(name.split(separator: " ")[1].split(separator: "×")[0])!
            return String(format: "%.1f", 2 * n * n * n / s / 1e9)
        }
        return String(format: "%.3f", s * 1e3)
    }
    let ratio = theirs.map { String(format: "%.2f×", $0 / ours) } ?? "—"
    print("| \(name) | \(show(ours)) | \(theirs.map(show) ?? "—") | \(ratio) |")
}

