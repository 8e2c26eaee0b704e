import Foundation
import NumericCore
import XCTest

/// Replays the crafted files of `Fixtures/hostile` (written by `scripts/make_hostile_corpus.py`): every hostile
/// file must be refused with one `NumPyFormatError` naming the problem, quickly and in bounded memory, and every
/// `valid_*` file must load with the values NumPy reads from it.
final class HostileInputTests: XCTestCase {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/hostile")

    /// Each hostile file and a fragment of the error it must get.
    static let refusals: [String: String] = [
        "shape_2p61_1_1.npz": "[xs]: shape [2305843009213693952, 1, 1]: 2305843009213693952 elements of 8 bytes "
            + "overflows a 64-bit size",
        "shape_2p31_2p31_4.npz": "[xs]: shape [2147483648, 2147483648, 4] has more elements than an Int can count",
        "shape_2p62_2p62_0.npz": "[xs]: empty shape [4611686018427387904, 4611686018427387904, 0] (checked as "
            + "[4611686018427387904, 4611686018427387904, 1]) has more elements than an Int can count",
        "empty_b0_n2p40.npz": "[xs]: empty shape [0, 1099511627776, 5] (checked as [1, 1099511627776, 5]) needs "
            + "40.0 TiB",
        "shape_one_axis_over_cap.npy": "shape [134217729] needs 1.0 GiB (1073741832 bytes), over the 1.0 GiB limit; "
            + "if that is intended, raise it with ICL_MAX_MEMORY (e.g. ICL_MAX_MEMORY=2G)",
        "shape_negative.npy": "bad shape (-1, 3)",
        "shape_too_many_digits.npy": "bad shape (99999999999999999999999,)",
        "shape_not_a_tuple.npy": "bad shape 6 in .npy header (expected a tuple)",
        "shape_empty_entry.npy": "bad shape (2, , 3)",
        "bomb_declares_4gib.npz": "[xs.npy]: declares 4294967294 bytes from 76 compressed bytes, more than "
            + "deflate's 1032:1",
        "bomb_1p25gib_zeros.npz": "its members declare 1.2 GiB (1342177280 bytes) uncompressed, over the 1.0 GiB "
            + "limit",
        "bomb_10mb_declares_1000.npz": "[xs.npy]: deflate data inflates to more than the 1000 bytes it declares",
        "bomb_declares_more_than_inflates.npz": "deflate data inflates to 176 bytes, less than the 4272 it declares",
        "bomb_overlapping_members.npz": "members 'xs.npy' and 'ys.npy' overlap",
        "truncated_file.npz": "not a .npz (zip) file",
        "truncated_member_stored.npz": "[xs.npy]: truncated zip member: 176 bytes at offset 36 run past the end",
        "truncated_member_deflated.npz": "[xs.npy]: deflate data ends early",
        "truncated_npy_data.npy": "file holds 80 data bytes, shape [100] of 8-byte elements needs 800",
        "truncated_npy_header.npy": "truncated .npy header (it declares 118 bytes, the file holds 30)",
        "truncated_magic.npy": "not a .npy file",
        "truncated_npy_in_npz.npz": "[xs]: file holds 40 data bytes, shape [2, 3] of 8-byte elements needs 48",
        "truncated_central_directory.npz": "corrupt zip directory (entry 1 of 3",
        "offset_local_header_past_eof.npz": "[xs.npy]: corrupt zip: no local header at offset 2147483632",
        "offset_central_directory_past_eof.npz": "corrupt zip: the central directory (52 bytes at offset 268435668)",
        "size_negative_seeming.npz": "[xs.npy]: truncated zip member: 4294967280 bytes",
        "size_zip64_sentinel.npz": "[xs.npy]: ZIP64 members (4 GiB or more) are not supported",
        "header_length_past_eof.npy": "truncated .npy header (it declares 65535 bytes",
        "header_length_huge_v2.npy": ".npy header length 2147483632 is over the 65536-byte maximum",
        "not_a_zip.npz": "not a .npz (zip) file",
        "crc_mismatch.npz": "[xs.npy]: CRC mismatch",
        "method_bzip2.npz": "[xs.npy]: unsupported compression method 12",
        "encrypted_member.npz": "[xs.npy]: encrypted zip members are not supported",
        "duplicate_names.npz": "array 'xs' appears twice",
        "member_not_npy.npz": "[xs]: not a .npy file",
        "dtype_complex128.npy": "unsupported dtype '<c16'",
        "dtype_object.npy": "unsupported dtype '|O'",
        "dtype_unicode.npy": "unsupported dtype '<U4'",
        "dtype_float16.npy": "unsupported dtype '<f2'",
        "dtype_structured.npy": "unsupported dtype '[('a'",
        "header_no_shape.npy": "malformed .npy header",
        "header_fortran_not_bool.npy": "fortran_order must be True or False, got '1'",
        "version_9.npy": "unsupported .npy format version 9",
    ]

    /// A hostile file must be refused within this long: every check is linear in the file's real size, and the
    /// largest file is 1.3 MB (a debug build with AddressSanitizer stays well inside it).
    static let maxSecondsPerFile = 1.0
    /// A hostile file may raise the process's peak resident memory by at most this much. The reader itself needs
    /// the file plus one 64 KiB inflate chunk; the files below lie about sizes up to 2¹²⁴ bytes.
    static let maxPeakGrowthBytes = 200 << 20

    static func load(_ url: URL) throws -> [String: Tensor] {
        url.pathExtension == "npz" ? try NumPy.load(npz: url) : ["": try NumPy.load(npy: url)]
    }

    func testCorpusIsFullyClassified() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.corpus.path)
        let hostile = Set(names.filter { !$0.hasPrefix("valid_") })
        XCTAssertEqual(hostile, Set(Self.refusals.keys), "every crafted file needs an expected refusal, and vice versa")
        XCTAssertEqual(names.count - hostile.count, 8, "valid_* files")
    }

    func testEveryHostileFileIsRefusedQuicklyInBoundedMemory() throws {
        XCTAssertEqual(NumPy.maxArrayBytes, 1 << 30, "the corpus assumes the default 1 GiB cap (ICL_MAX_MEMORY unset)")
        let probe = PeakMemory()
        if let probe {
            // Show the probe sees an allocation of the size it guards against, so a pass below means something.
            let seen = probe.growth {
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 20, alignment: 64)
                buffer.initializeMemory(as: UInt8.self, repeating: 1)
                buffer.deallocate()
            }
            XCTAssertGreaterThan(seen, 60 << 20, "VmHWM did not see a 64 MiB allocation")
        }
        var worst = (name: "", bytes: 0), slowest = (name: "", seconds: 0.0)
        for (name, expected) in Self.refusals.sorted(by: { $0.key < $1.key }) {
            let url = Self.corpus.appendingPathComponent(name)
            var outcome: Result<[String: Tensor], Error> = .success([:])
            let start = DispatchTime.now()
            let grew = probe?.growth { outcome = Result { try Self.load(url) } } ?? 0
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
            switch outcome {
            case .success(let arrays): XCTFail("\(name): loaded \(arrays.mapValues(\.shape)) instead of being refused")
            case .failure(let e as NumPyFormatError):
                XCTAssertTrue(e.message.contains(expected), "\(name): got \(e.message)\nexpected …\(expected)…")
                XCTAssertTrue(e.message.hasPrefix(url.path), "\(name): error does not name the file: \(e.message)")
            case .failure(let e): XCTFail("\(name): threw \(type(of: e)) \(e), not a NumPyFormatError")
            }
            XCTAssertLessThan(seconds, Self.maxSecondsPerFile, name)
            XCTAssertLessThan(grew, Self.maxPeakGrowthBytes, "\(name): peak memory grew by \(grew) bytes")
            if grew >= worst.bytes { worst = (name, grew) }
            if seconds >= slowest.seconds { slowest = (name, seconds) }
        }
        print("hostile corpus: \(Self.refusals.count) files refused; largest peak-memory growth "
            + (probe == nil ? "not measured (no /proc/self/clear_refs)" : "\(worst.bytes >> 10) KiB (\(worst.name))")
            + "; slowest \(String(format: "%.1f", slowest.seconds * 1000)) ms (\(slowest.name))")
    }

    func testValidFilesLoadExactly() throws {
        func load(_ name: String) throws -> Tensor { try NumPy.load(npy: Self.corpus.appendingPathComponent(name)) }
        let a = Tensor(shape: [2, 3], scalars: [0, 0.25, 0.5, 0.75, 1, 1.25])
        XCTAssertEqual(try load("valid_fortran_order.npy"), a)
        XCTAssertEqual(try load("valid_big_endian.npy"), a)
        // Column-major on disk: disk value i = 6i mod 11 sits at (i mod 2, (i / 2) mod 3, i / 6); NumPy prints
        // the row-major result below.
        XCTAssertEqual(try load("valid_fortran_rank3.npy"),
                       Tensor([[[0, 3], [1, 4], [2, 5]], [[6, 9], [7, 10], [8, 0]]]))
        let special = try load("valid_nan_inf.npy")
        XCTAssertTrue(special.scalars[0].isNaN)
        XCTAssertEqual(Array(special.scalars[1...]).map(\.bitPattern), [.infinity, -.infinity, -0.0].map(\.bitPattern))
        XCTAssertEqual(try load("valid_rank0.npy"), Tensor(7.5))
        let empty = try load("valid_empty_3x0x2.npy")
        XCTAssertEqual(empty.shape, [3, 0, 2])
        XCTAssertEqual(empty.scalars, [])
        XCTAssertEqual(try load("valid_version3_int16_big.npy"), Tensor([-2, 0, 300]))
        // NaN is read as written; refusing it is PromptBatch's job (see TaskTests).
        let prompt = try NumPy.load(npz: Self.corpus.appendingPathComponent("valid_prompt_with_nan.npz"))
        XCTAssertEqual(prompt["xs"], Tensor([[[0, 0.25, 0.5], [0.75, 1, 1.25]]]))
        XCTAssertEqual(prompt["ys"]?.shape, [1, 2])
        XCTAssertTrue(prompt["ys"]!.scalars[0].isNaN)
        XCTAssertEqual(prompt["ys"]!.scalars[1], 1)
    }

    /// Members each under the cap but over it together are refused before any is read.
    func testMembersTogetherOverTheCapAreRefused() throws {
        let saved = NumPy.maxArrayBytes
        defer { NumPy.maxArrayBytes = saved }
        let members = NumPy.npyData(Tensor(zeros: [600])).count
        let data = try NumPy.npzData([("a", Tensor(zeros: [600])), ("b", Tensor(zeros: [600]))], name: "two.npz")
        NumPy.maxArrayBytes = 8_000
        let declared = ResourceLimits.describe(bytes: 2 * members)
        XCTAssertThrowsError(try NumPy.arrays(npz: data, name: "two.npz")) { e in
            XCTAssertTrue("\(e)".hasPrefix("two.npz: its members declare \(declared)"), "\(e)")
        }
        // Each array alone fits, and both together fit a cap of their Doubles.
        NumPy.maxArrayBytes = 2 * members
        XCTAssertEqual(try NumPy.arrays(npz: data, name: "two.npz")["b"], Tensor(zeros: [600]))
        NumPy.maxArrayBytes = 2 * members - 1
        XCTAssertThrowsError(try NumPy.arrays(npz: data, name: "two.npz"))
    }

    /// The arrays of one `.npz` share one budget: int8 data takes 8× its file size as Doubles.
    func testArraysShareOneBudgetOfDoubles() throws {
        let saved = NumPy.maxArrayBytes
        defer { NumPy.maxArrayBytes = saved }
        let header = "{'descr': '|i1', 'fortran_order': False, 'shape': (1000,), }"
        let npy = Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count + 1), 0] + Array(header.utf8)
                       + [0x0A] + [UInt8](repeating: 7, count: 1000))
        NumPy.maxArrayBytes = 8_000
        XCTAssertEqual(try NumPy.tensor(npy: npy, name: "i8").scalars.count, 1000)
        NumPy.maxArrayBytes = 7_999
        XCTAssertThrowsError(try NumPy.tensor(npy: npy, name: "i8")) { e in
            XCTAssertTrue("\(e)".hasPrefix("i8: shape [1000] needs 7.8 KiB (8000 bytes), over the 7.8 KiB limit"),
                          "\(e)")
        }
    }

    /// A file larger than any file within the cap is refused before it is read; so is anything but a regular
    /// file (a device such as /dev/zero would never end); a symbolic link to a file is read.
    func testFilesAreSizedBeforeTheyAreRead() throws {
        let saved = NumPy.maxArrayBytes
        defer { NumPy.maxArrayBytes = saved }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("a.npz"), link = dir.appendingPathComponent("link.npz")
        try NumPy.save([("a", Tensor(zeros: [140_000]))], npz: file)      // 1.07 MiB
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: file)
        XCTAssertEqual(try NumPy.load(npz: link)["a"]?.shape, [140_000])
        NumPy.maxArrayBytes = 4096
        XCTAssertThrowsError(try NumPy.load(npz: file)) { e in
            XCTAssertTrue("\(e)".hasPrefix("\(file.path): the file is 1.1 MiB, larger than arrays within the 4.0 KiB "
                + "limit can need"), "\(e)")
        }
        XCTAssertThrowsError(try NumPy.load(npy: URL(fileURLWithPath: "/dev/zero"))) { e in
            XCTAssertEqual("\(e)", "/dev/zero: not a regular file")
        }
        XCTAssertThrowsError(try NumPy.load(npz: dir)) { e in XCTAssertTrue("\(e)".hasSuffix("cannot read file (it is a directory)"), "\(e)") }
    }

    /// An empty array round-trips: zero extents are allowed where the array is genuinely empty.
    func testEmptyArraysRoundTrip() throws {
        let data = try NumPy.npzData([("e", Tensor(zeros: [0, 3])), ("s", Tensor(2))], name: "e.npz")
        let back = try NumPy.arrays(npz: data, name: "e.npz")
        XCTAssertEqual(back["e"]?.shape, [0, 3])
        XCTAssertEqual(back["s"], Tensor(2))
    }
}

/// The growth of this process's peak resident memory (`VmHWM`) over a closure, on Linux.
///
/// `getrusage`'s `ru_maxrss` and `VmHWM` are high-water marks for the whole process: once an earlier test has
/// touched, say, 300 MB, a reader that allocates 250 MB leaves them unchanged and a check against them passes
/// vacuously. So, before the closure: `malloc_trim(0)` hands freed heap pages back to the kernel (BLASRuntime
/// raises glibc's trim threshold to 1 GiB, so without it a new allocation could reuse pages that are already
/// resident and not show), then writing `5` to `/proc/self/clear_refs` (Linux ≥ 4.0) resets `VmHWM` to the
/// current `VmRSS`. `VmHWM` after the closure minus `VmRSS` before it is then the closure's own peak. `nil` where
/// the reset is not available (other systems, a read-only /proc); the calibration in the test checks that a
/// 64 MiB allocation does show.
struct PeakMemory {
    init?() {
        guard Self.resetPeak(), Self.status("VmHWM") != nil else { return nil }
    }

    /// Bytes by which the peak exceeded the resident size at the start of `body`.
    func growth(_ body: () -> Void) -> Int {
        _ = Self.resetPeak()
        let before = Self.status("VmRSS") ?? 0
        body()
        return max(0, (Self.status("VmHWM") ?? 0) - before)
    }

    private static func resetPeak() -> Bool {
        #if os(Linux)
        // glibc's malloc_trim(size_t) is not exported by Swift's Glibc module; look it up (RTLD_DEFAULT is nil).
        if let trim = dlsym(nil, "malloc_trim") {
            _ = unsafeBitCast(trim, to: (@convention(c) (Int) -> Int32).self)(0)
        }
        let fd = open("/proc/self/clear_refs", O_WRONLY)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return write(fd, "5", 1) == 1
        #else
        return false
        #endif
    }

    /// A `/proc/self/status` field given in kB, in bytes.
    private static func status(_ field: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }),
              let kb = Int(line.split(separator: " ").dropFirst().first { Int($0) != nil } ?? "") else { return nil }
        return kb << 10
    }
}
