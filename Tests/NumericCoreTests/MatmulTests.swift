import NumericCore
import TestSupport
import XCTest

/// BLAS (and the direct small-matrix kernel) against triple loops, on the kernel this process really runs:
/// the start-up selection in BLASRuntime means an unrecognized AVX-512/AVX2 CPU is tested on the fast kernel.
final class MatmulTests: XCTestCase {
    /// Sums of up to ~100 products of N(0,1) values differ from naive loops only by reassociation: ≲ 1e-13.
    let tolerance = 1e-11

    func testMatchesNaiveLoops() {
        var rng = Xoshiro256(seed: 11)
        let sizes = [(1, 1, 1), (2, 3, 4), (11, 11, 11), (24, 24, 24), (25, 24, 24), (64, 33, 17), (100, 80, 90)]
        for (m, k, n) in sizes {
            for ta in [false, true] {
                for tb in [false, true] {
                    let a = Tensor.randomNormal(ta ? [k, m] : [m, k], using: &rng)
                    let b = Tensor.randomNormal(tb ? [n, k] : [k, n], using: &rng)
                    assertClose(matmul(a, b, transposeA: ta, transposeB: tb),
                                naiveMatmul(a, b, transposeA: ta, transposeB: tb), tolerance: tolerance,
                                "\(m)x\(k)x\(n) tA=\(ta) tB=\(tb)")
                    let ba = Tensor.randomNormal([5] + (ta ? [k, m] : [m, k]), using: &rng)
                    let bb = Tensor.randomNormal([5] + (tb ? [n, k] : [k, n]), using: &rng)
                    assertClose(matmul(ba, bb, transposeA: ta, transposeB: tb),
                                naiveMatmul(ba, bb, transposeA: ta, transposeB: tb), tolerance: tolerance,
                                "batched \(m)x\(k)x\(n) tA=\(ta) tB=\(tb)")
                }
            }
        }
    }

    func testLargeBatchSplitAcrossCoresMatchesNaive() {
        // 2048 prompts of 11×11: the size the benchmark and the LSA use, split over worker threads.
        var rng = Xoshiro256(seed: 12)
        let a = Tensor.randomNormal([2048, 11, 11], using: &rng), b = Tensor.randomNormal([2048, 11, 11], using: &rng)
        assertClose(matmul(a, b), naiveMatmul(a, b), tolerance: tolerance)
        assertClose(matmul(a, b, transposeA: true), naiveMatmul(a, b, transposeA: true), tolerance: tolerance)
    }

    func testSharedWeightsAcrossBatch() {
        var rng = Xoshiro256(seed: 13)
        let x = Tensor.randomNormal([4, 6, 5], using: &rng), w = Tensor.randomNormal([5, 3], using: &rng)
        let expected = naiveMatmul(x, w.tiledBatch(4))
        assertClose(matmul(x, w), expected, tolerance: tolerance)
        assertClose(matmul(w.matrixTransposed(), x.matrixTransposed()).matrixTransposed(),
                    expected, tolerance: tolerance, "2D·3D")
    }

    func testKernelIsNotAGenericFallbackOnCapableCPUs() throws {
        if ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] != nil
            && BLASInfo.selectedByWorkbench == nil {
            throw XCTSkip("OPENBLAS_CORETYPE was set by the user; the workbench leaves that choice alone")
        }
        if ProcessInfo.processInfo.environment["ICL_BLAS_AUTOSELECT"] == "0" {
            throw XCTSkip("kernel selection disabled by ICL_BLAS_AUTOSELECT=0")
        }
        let generic = ["Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom", "Sandybridge", "Barcelona"]
        if BLASInfo.cpuFeatures.contains("AVX2+FMA") {
            XCTAssertFalse(generic.contains(BLASInfo.coreName),
                           "OpenBLAS runs its generic \(BLASInfo.coreName) kernel on a CPU with AVX2: \(BLASInfo.summary)")
        }
    }

    func testKernelSelectionDecision() {
        // Fell back on a capable CPU: choose the best kernel the CPU verifiably supports.
        XCTAssertEqual(BLASInfo.suggestedCoreType(coreName: "Prescott", avx2: true, avx512: true, environment: nil), "SkylakeX")
        XCTAssertEqual(BLASInfo.suggestedCoreType(coreName: "Prescott", avx2: true, avx512: false, environment: nil), "Haswell")
        XCTAssertEqual(BLASInfo.suggestedCoreType(coreName: "Sandybridge", avx2: true, avx512: false, environment: nil), "Haswell")
        // Never override the user's or the machine's choice, nor a recognized CPU, nor without the instructions.
        XCTAssertNil(BLASInfo.suggestedCoreType(coreName: "Prescott", avx2: true, avx512: true, environment: "Prescott"))
        XCTAssertNil(BLASInfo.suggestedCoreType(coreName: "Prescott", avx2: true, avx512: true, environment: ""))
        XCTAssertNil(BLASInfo.suggestedCoreType(coreName: "Zen", avx2: true, avx512: false, environment: nil))
        XCTAssertNil(BLASInfo.suggestedCoreType(coreName: "SkylakeX", avx2: true, avx512: true, environment: nil))
        XCTAssertNil(BLASInfo.suggestedCoreType(coreName: "Prescott", avx2: false, avx512: false, environment: nil))
    }
}

final class SharedWeightReductionTests: XCTestCase {
    func testSumOfRowOuterProductsMatchesNaive() {
        var rng = Xoshiro256(seed: 14)
        for (rows, k, n) in [(1001, 7, 5), (3, 2, 2), (5000, 11, 11), (300, 70, 70)] {   // last: BLAS path
            let x = Tensor.randomNormal([rows, k], using: &rng), y = Tensor.randomNormal([rows, n], using: &rng)
            // Sums of up to 5000 products: reassociation error ≲ 5000 · ε · max|term| ≈ 1e-11.
            assertClose(Tensor.sumOfRowOuterProducts(x, y), naiveMatmul(x, y, transposeA: true), tolerance: 1e-10,
                        "rows=\(rows) k=\(k) n=\(n)")
        }
    }
}
