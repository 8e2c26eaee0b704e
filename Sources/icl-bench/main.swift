// icl-bench: release-mode speed, each figure next to the same work by a peer run on this machine in the same
// invocation where the peer is available (NumPy), as a ratio (> 1 means the workbench is faster).
//   bash scripts/bench.sh            all sections: core ops vs NumPy, LSA training, classical learners vs NumPy
//   icl-bench --core | --train | --classical     one section; --profile: per-op timings of the LSA loss
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
var classicalOnly = false // --classical: only the classical learners
var coreOnly = false      // --core: only the core-op table
var peersDirectory = "../shared/peers"
var gptOnly = false       // --gpt [--looped T] [--steps S] [--micro-batches M]: one line of GPT training speed
var gpt = GPTPoint()
var point = TrainingPoint()      // --train with any of --layers/--dimension/--points/--looped/--batch/--steps
var args = CommandLine.arguments.dropFirst()
func intArgument(_ name: String) -> Int {
    guard let s = args.popFirst(), let v = Int(s), v >= 1 else {
        FileHandle.standardError.write("icl-bench: \(name) needs a positive integer\n".data(using: .utf8)!); exit(2)
    }
    return v
}
while let a = args.popFirst() {
    if a == "--layers" { point.layers = intArgument(a); point.given = true }
    else if a == "--dimension" { point.dimension = intArgument(a); point.given = true }
    else if a == "--points" { point.points = intArgument(a); point.given = true }
    else if a == "--looped" { point.looped = intArgument(a); point.given = true }
    else if a == "--batch" { point.batch = intArgument(a); point.given = true }
    else if a == "--steps" { point.steps = intArgument(a); point.given = true }
    else if a == "--peer", let p = args.popFirst() { peerScript = p }
    else if a == "--profile" { profileOnly = true }
    else if a == "--train" { trainOnly = true }
    else if a == "--peers", let p = args.popFirst() { peersDirectory = p }
    else if a == "--classical" { classicalOnly = true }
    else if a == "--core" { coreOnly = true }
    else if a == "--gpt" { gptOnly = true }
    else if a == "--micro-batches" { gpt.microBatches = intArgument(a) }
    else if a == "--blas" { print("BLAS: \(BLASInfo.summary) (\(BLASInfo.configuration)); workbench threads: \(Parallel.workerCount)"); exit(0) }
    else {
        print("usage: icl-bench [--blas | --core | --gpt [--looped T] [--steps S] [--micro-batches M] | --train [--layers L] [--dimension D] [--points N] [--looped T] [--batch B] [--steps S] | --classical | --profile] [--peer bench_numpy.py] [--peers DIR]")
        exit(a == "--help" ? 0 : 2)
    }
}
let runAll = !trainOnly && !classicalOnly && !coreOnly && !profileOnly

if gptOnly {
    gpt.looped = point.looped
    if point.given && point.steps != TrainingPoint().steps { gpt.steps = point.steps }
    print(gpt.run())
    exit(0)
}
if trainOnly && point.given {
    // One point of the depth-scaling table, as one JSON line (the peer is shared/peers/a_lsa_depth.py).
    print(point.run())
    exit(0)
}
print("# icl-bench")
print("BLAS: \(BLASInfo.summary)")
print("config: \(BLASInfo.configuration); workbench threads: \(Parallel.workerCount)")
if trainOnly || runAll {
    let r = lsaTrainingBenchmark(steps: 300, breakdown: trainOnly)
    print("\n## LSA training (B = 2048, N = 10 + query, D = 10, 1 layer, 1 head, Adam, fresh prompts every step)\n")
    print("| implementation | steps/s | ratio |\n|---|---:|---:|")
    print(String(format: "| workbench (this run; loss %.3f → %.3f) | %.1f | — |", r.firstLoss, r.lastLoss, r.stepsPerSecond))
    // The peers' figures for this machine kind (shared/peers/README.md): torch is not installed here.
    for (name, rate) in [("PyTorch eager (peers README)", 101.0), ("torch.compile (peers README)", 113.0), ("JAX jit (peers README)", 77.0)] {
        print(String(format: "| %@ | %.0f | %.2f× |", name, rate, r.stepsPerSecond / rate))
    }
}
if classicalOnly || runAll {
    let only = ProcessInfo.processInfo.environment["ICL_BENCH_ONLY"]
    let ours = classicalBenchmark(only: only)
    FileHandle.standardError.write("running NumPy peer (\(peersDirectory)/d_classical.py)…\n".data(using: .utf8)!)
    let peer = ours.isEmpty ? [:] : numpyClassical(peers: peersDirectory)
    if !ours.isEmpty {
        print("\n## Classical learners (B = 10,000 prompts, D = 20, N = 40; prompts/s)\n")
        print("| learner | workbench | NumPy | ratio |\n|---|---:|---:|---:|")
        for r in ours {
            let key = r.peerKey == "ols_pinv" ? ["ols_pinv", "ols_qr"] : [r.peerKey]
            let theirs = key.compactMap { peer[$0] }.max()
            print("| \(r.name) | \(String(format: "%.0f", r.promptsPerSecond)) | \(theirs.map { String(format: "%.0f", $0) } ?? "—") | \(theirs.map { String(format: "%.2f×", r.promptsPerSecond / $0) } ?? "—") |")
        }
        if peer.isEmpty { print("\n(NumPy peer not found at \(peersDirectory)/d_classical.py: ratios omitted)") }
        else { print("\nNumPy's OLS figure is the faster of its pinv and QR paths.") }
    }
}
if !(coreOnly || runAll || profileOnly) { exit(0) }

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

print("\n## Core operations (best of repeated runs)\n")
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

