import BLASRuntime
import CLapack

/// What BLAS this process runs on, for benchmark headers and `icl blas`.
public enum BLASInfo {
    /// OpenBLAS's kernel family in use ("Haswell", "SkylakeX", "Zen", … or "Prescott" for its generic fallback).
    public static var coreName: String { String(cString: openblas_get_corename()) }
    /// OpenBLAS's build configuration string.
    public static var configuration: String { String(cString: openblas_get_config()) }
    /// Threads OpenBLAS uses for large products.
    public static var threadCount: Int { Int(openblas_get_num_threads()) }
    /// The core type the workbench selected at start-up (see `BLASRuntime.c`), if it had to.
    public static var selectedByWorkbench: String? {
        icl_blas_selected_coretype().map { String(cString: $0) }
    }
    /// CPU features relevant to kernel choice, as names.
    public static var cpuFeatures: [String] {
        let f = icl_cpu_features()
        var names: [String] = []
        if f & Int32(ICL_CPU_AVX2_FMA) != 0 { names.append("AVX2+FMA") }
        if f & Int32(ICL_CPU_AVX512) != 0 { names.append("AVX-512") }
        return names
    }
    /// The core type the workbench would choose for `coreName` on a CPU with `features` (the pure decision
    /// behind the start-up selection; `environment` is the value of OPENBLAS_CORETYPE, if set).
    public static func suggestedCoreType(coreName: String, avx2: Bool, avx512: Bool, environment: String?) -> String? {
        var features: Int32 = 0
        if avx2 { features |= Int32(ICL_CPU_AVX2_FMA) }
        if avx512 { features |= Int32(ICL_CPU_AVX512) }
        let result: UnsafePointer<CChar>? = coreName.withCString { core in
            if let env = environment {
                return env.withCString { icl_blas_suggested_coretype(core, features, $0) }
            }
            return icl_blas_suggested_coretype(core, features, nil)
        }
        return result.map { String(cString: $0) }
    }
    /// One line for logs: kernel, how it was chosen, threads.
    public static var summary: String {
        var s = "OpenBLAS kernel \(coreName)"
        if let selected = selectedByWorkbench {
            s = "OpenBLAS kernel \(selected) (selected by the workbench; OpenBLAS did not recognize this CPU)"
        }
        s += threadCount == 1 ? ", 1 thread per call (large products are split over the workbench's \(Parallel.workerCount) workers)"
                              : ", \(threadCount) threads"
        s += ", CPU features: "
        s += cpuFeatures.isEmpty ? "none of AVX2/AVX-512" : cpuFeatures.joined(separator: ", ")
        return s
    }
}
