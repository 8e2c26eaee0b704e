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
    /// Inside a parallel region a nested call runs its chunks serially on the calling worker (the cores are
    /// already busy); chunk boundaries, and so results, are the same either way.
    public static func forChunks(count: Int, workers: Int = workerCount, _ body: (Range<Int>) -> Void) {
        var w = max(1, min(workers, count))
        if pthread_getspecific(regionKey) != nil { w = 1 }
        if w == 1 { body(0..<count); return }
        let blasThreads = openblas_get_num_threads()
        if blasThreads > 1 { openblas_set_num_threads(1) }
        defer { if blasThreads > 1 { openblas_set_num_threads(blasThreads) } }
        DispatchQueue.concurrentPerform(iterations: w) { t in
            pthread_setspecific(regionKey, UnsafeRawPointer(bitPattern: 1))
            defer { pthread_setspecific(regionKey, nil) }
            let lo = count * t / w, hi = count * (t + 1) / w
            body(lo..<hi)
        }
    }

    /// Marks the threads working inside a parallel region.
    nonisolated(unsafe) static let regionKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()
}
