// libFuzzer harness for the .npy/.npz readers, compiled into the NumericCore module by scripts/fuzz.sh (so it
// calls the readers directly and they get coverage instrumentation). It is not part of the SwiftPM package.
import Foundation

/// libFuzzer's entry point: every input is read both as a `.npz` and as a `.npy`. A refusal (a thrown
/// `NumPyFormatError`) is the expected outcome for most inputs; a crash, a sanitizer report, a hang or more
/// than libFuzzer's memory limit is a bug. An input that loads must survive a write–read round trip bit for bit.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzNumPyReaders(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    // A cap well under libFuzzer's default 2 GiB RSS limit, so an input that legitimately asks for up to the cap
    // cannot be mistaken for a leak or an out-of-memory bug.
    NumPy.maxArrayBytes = 256 << 20
    let data = start.map { Data(bytes: $0, count: count) } ?? Data()
    if let arrays = try? NumPy.arrays(npz: data, name: "fuzz.npz") {
        // The reader takes any member name; the writer only names without '/' (round trip those).
        let names = arrays.keys.sorted().filter { !$0.isEmpty && !$0.contains("/") }
        let written = try! NumPy.npzData(names.map { ($0, arrays[$0]!) }, name: "fuzz.npz")
        let back = try! NumPy.arrays(npz: written, name: "fuzz.npz")
        for name in names { checkSameBits(arrays[name]!, back[name]!, name) }
    }
    // Again without CRC checks, so mutated members reach the .npy parser behind the zip layer.
    data.withUnsafeBytes { bytes in
        var budget = NumPy.maxArrayBytes
        try? NumPy.unzip(bytes, name: "fuzz.npz", limit: budget, checkCRCs: false) { entry, member in
            _ = try? NumPy.tensor(npyBytes: member, name: entry, budget: &budget)
        }
    }
    if let tensor = try? NumPy.tensor(npy: data, name: "fuzz.npy") {
        checkSameBits(tensor, try! NumPy.tensor(npy: NumPy.npyData(tensor), name: "fuzz.npy"), "npy")
    }
    return 0
}

private func checkSameBits(_ a: Tensor, _ b: Tensor, _ name: String) {
    precondition(a.shape == b.shape && a.scalars.map(\.bitPattern) == b.scalars.map(\.bitPattern),
                 "\(name): round trip changed \(a.shape) into \(b.shape)")
}
