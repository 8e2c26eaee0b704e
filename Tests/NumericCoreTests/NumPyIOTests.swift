import Foundation
import NumericCore
import TestSupport
import XCTest

final class NumPyIOTests: XCTestCase {
    /// Fixtures written by NumPy 2.x (`np.save`, `np.savez`, `np.savez_compressed`); see the script in
    /// the test below's comment for what each holds.
    let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("npy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    func testReadsWhatNumPyWrites() throws {
        let a = Tensor(shape: [2, 3], scalars: (0..<6).map { Double($0) / 4 })
        XCTAssertEqual(try NumPy.load(npy: fixtures.appendingPathComponent("f64.npy")), a)
        // np.savez_compressed(f64=a, f32=[1.5, -2.25] float32, i64=[[-3, 4]], b=[T, F, T],
        //   fortran=asfortranarray(a), big=a as '>f8', scalar=7.0, u8=[255, 0], i32=[-1, 2³¹−1])
        let z = try NumPy.load(npz: fixtures.appendingPathComponent("numpy_compressed.npz"))
        XCTAssertEqual(z["f64"], a)
        XCTAssertEqual(z["f32"], Tensor([1.5, -2.25]))
        XCTAssertEqual(z["i64"], Tensor([[-3, 4]]))
        XCTAssertEqual(z["b"], Tensor([1, 0, 1]))
        XCTAssertEqual(z["fortran"], a, "Fortran order is reordered to C order")
        XCTAssertEqual(z["big"], a, "big-endian float64")
        XCTAssertEqual(z["scalar"], Tensor(7))
        XCTAssertEqual(z["u8"], Tensor([255, 0]))
        XCTAssertEqual(z["i32"], Tensor([-1, 2_147_483_647]))
        // np.savez(xs=linspace(-1, 1, 24).reshape(2, 3, 4), ys=[0.5, -0.5]): stored, uncompressed.
        let s = try NumPy.load(npz: fixtures.appendingPathComponent("numpy_stored.npz"))
        XCTAssertEqual(s["xs"]?.shape, [2, 3, 4])
        XCTAssertEqual(s["xs"]!.scalars.first!, -1)
        XCTAssertEqual(s["xs"]!.scalars.last!, 1, accuracy: 1e-15)
        XCTAssertEqual(s["ys"], Tensor([0.5, -0.5]))
    }

    func testRoundTripIsBitExact() throws {
        var rng = Xoshiro256(seed: 1)
        let x = Tensor.randomNormal([3, 4, 5], using: &rng), v = Tensor([Double.leastNormalMagnitude / 4, -0.0, .infinity, .pi])
        let url = tmp.appendingPathComponent("a.npz")
        try NumPy.save([("x", x), ("v", v), ("s", Tensor(2))], npz: url)
        let back = try NumPy.load(npz: url)
        XCTAssertEqual(back["x"]!.scalars.map(\.bitPattern), x.scalars.map(\.bitPattern))
        XCTAssertEqual(back["v"]!.scalars.map(\.bitPattern), v.scalars.map(\.bitPattern))
        XCTAssertEqual(back["s"], Tensor(2))
        let npy = tmp.appendingPathComponent("x.npy")
        try NumPy.save(x, npy: npy)
        XCTAssertEqual(try NumPy.load(npy: npy), x)
    }

    func testNumPyReadsWhatWeWrite() throws {
        let url = tmp.appendingPathComponent("w.npz")
        try NumPy.save([("w", Tensor([[1, 2], [3, 4.5]])), ("v", Tensor([7]))], npz: url)
        let check = Process()
        check.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        check.arguments = ["python3", "-c", """
            import numpy as np, sys
            z = np.load(sys.argv[1]); assert z['w'].tolist() == [[1, 2], [3, 4.5]] and z['w'].dtype == np.float64
            assert z['v'].shape == (1,); print('ok')
            """, url.path]
        let pipe = Pipe()
        check.standardOutput = pipe
        check.standardError = Pipe()
        do { try check.run() } catch { throw XCTSkip("python3 not available") }
        check.waitUntilExit()
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        if check.terminationStatus != 0 && !out.contains("ok") {
            let probe = Process()
            probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            probe.arguments = ["python3", "-c", "import numpy"]
            try probe.run(); probe.waitUntilExit()
            if probe.terminationStatus != 0 { throw XCTSkip("NumPy not installed") }
        }
        XCTAssertEqual(out.trimmingCharacters(in: .whitespacesAndNewlines), "ok")
    }

    func testBadFilesGiveClearErrors() throws {
        let junk = tmp.appendingPathComponent("junk.npz")
        try Data("not a zip".utf8).write(to: junk)
        XCTAssertThrowsError(try NumPy.load(npz: junk)) { e in XCTAssertTrue("\(e)".contains("not a .npz"), "\(e)") }
        XCTAssertThrowsError(try NumPy.tensor(npy: Data([1, 2, 3]), name: "x")) { e in
            XCTAssertTrue("\(e)".contains("magic"), "\(e)")
        }
        // A truncated .npy: the header promises more data than the file holds.
        var data = NumPy.npyData(Tensor([1, 2, 3]))
        data.removeLast(8)
        XCTAssertThrowsError(try NumPy.tensor(npy: data, name: "t")) { e in XCTAssertTrue("\(e)".contains("needs"), "\(e)") }
        XCTAssertThrowsError(try NumPy.load(npz: tmp.appendingPathComponent("missing.npz"))) { e in
            XCTAssertTrue("\(e)".contains("cannot read"), "\(e)")
        }
    }

    func testFailedWriteLeavesExistingFileIntact() throws {
        let url = tmp.appendingPathComponent("keep.npz")
        try NumPy.save([("a", Tensor([1]))], npz: url)
        XCTAssertThrowsError(try NumPy.save([("a", Tensor([2])), ("a", Tensor([3]))], npz: url))
        XCTAssertEqual(try NumPy.load(npz: url)["a"], Tensor([1]))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: tmp.path).filter { $0.contains(".tmp-") }
        XCTAssertEqual(leftovers, [])
    }
}

final class AtomicWriteTests: XCTestCase {
    func testOverwritingAnExistingFileReplacesIt() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("atomic-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("f.npz")
        try NumPy.save([("a", Tensor([1]))], npz: url)
        try NumPy.save([("a", Tensor([2]))], npz: url)      // a re-run into the same run directory
        XCTAssertEqual(try NumPy.load(npz: url)["a"], Tensor([2]))
        XCTAssertThrowsError(try NumPy.writeAtomically(Data([1]), to: dir.appendingPathComponent("missing/x.npz"))) {
            XCTAssertTrue("\($0)".contains("cannot write"), "\($0)")
        }
    }
}
