import CLapack
import Dispatch
import Foundation

/// Splitting independent work over the machine's cores. Chunks are fixed by `count` and `workers`, and
/// each chunk writes only its own outputs, so results never depend on scheduling.
public enum Parallel {
    /// Worker threads to use: `ICL_NUM_THREADS` if set, else the number of active cores.
    public static let workerCount: Int = {
        if let s = ProcessInfo.processInfo.environment["ICL_NUM_THREADS"], let n = Int(s), n > 0 { return n }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()

    /// Calls `body` on `workers` contiguous sub-ranges of `0..<count`, concurrently when `workers > 1`.
    /// Inside the region OpenBLAS runs single-threaded (LAPACK calls per prompt would otherwise start
    /// OpenBLAS's own threads on cores our workers already use, and spin against them).
    public static func forChunks(count: Int, workers: Int = workerCount, _ body: (Range<Int>) -> Void) {
        let w = max(1, min(workers, count))
        if w == 1 { body(0..<count); return }
        let blasThreads = openblas_get_num_threads()
        if blasThreads > 1 { openblas_set_num_threads(1) }
        defer { if blasThreads > 1 { openblas_set_num_threads(blasThreads) } }
        DispatchQueue.concurrentPerform(iterations: w) { t in
            let lo = count * t / w, hi = count * (t + 1) / w
            body(lo..<hi)
        }
    }
}
