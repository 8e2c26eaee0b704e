import Foundation

/// Why a `.npy` / `.npz` file could not be read or written; the message names the file and the problem.
public struct NumPyFormatError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// NumPy's `.npy` (one array) and `.npz` (a zip of named `.npy` arrays) formats, so prompts, weights and
/// trajectories move between the workbench and NumPy / PyTorch / JAX.
///
/// Reading accepts float64/float32, signed and unsigned integers and bools of either byte order, C or Fortran
/// order, format versions 1–3, and `.npz` files written by `np.savez` (stored) or `np.savez_compressed`
/// (deflate); everything becomes a `Tensor` of Doubles. Writing produces little-endian float64, C order,
/// version 1.0, stored `.npz`, through a temporary file renamed into place so a failure never leaves a
/// half-written file.
///
/// Every file is treated as hostile: sizes are computed with overflow checks, checked against the bytes present
/// and against `maxArrayBytes` before anything is allocated, and each refusal is one `NumPyFormatError` naming
/// the file (and member) and the reason. Empty arrays (a zero extent) are read, with their other extents held to
/// the cap as if each zero were one. `Tests/NumericCoreTests/Fixtures/hostile` holds the crafted files this is
/// tested against.
public enum NumPy {
    // MARK: .npy

    /// The bytes of a `.npy` file holding `tensor` as `<f8`.
    public static func npyData(_ tensor: Tensor) -> Data {
        let shape = tensor.shape.map(String.init).joined(separator: ", ") + (tensor.rank == 1 ? "," : "")
        var header = "{'descr': '<f8', 'fortran_order': False, 'shape': (\(shape)), }"
        // magic (6) + version (2) + length (2) + header + '\n', padded with spaces to a multiple of 64.
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0])
        let len = UInt16(header.utf8.count)
        data.append(contentsOf: [UInt8(len & 0xFF), UInt8(len >> 8)])
        data.append(contentsOf: Array(header.utf8))
        tensor.scalars.withUnsafeBufferPointer { p in
            for x in p { withUnsafeBytes(of: x.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        }
        return data
    }

    /// Parses the bytes of a `.npy` file; `name` is used in error messages. Refuses, with a `NumPyFormatError`,
    /// anything malformed, truncated, or whose array would take more than `maxArrayBytes` as Doubles.
    public static func tensor(npy data: Data, name: String = "array") throws -> Tensor {
        var budget = maxArrayBytes
        return try data.withUnsafeBytes { try tensor(npyBytes: $0, name: name, budget: &budget) }
    }

    /// The longest `.npy` header read. Version 1 cannot write more than 65,535 bytes and NumPy writes under 200
    /// for any dtype read here; a version 2/3 length field of megabytes is corruption, not a header.
    static let maxHeaderBytes = 1 << 16

    /// What a `.npy` header says: the element type, the order, and the shape.
    struct Header {
        /// `f` (IEEE float), `i` (signed), `u` (unsigned) or `b` (bool).
        var kind: Character
        /// Bytes per element on disk.
        var width: Int
        var bigEndian: Bool
        var fortranOrder: Bool
        var shape: [Int]
        /// Offset of the first data byte.
        var dataStart: Int
    }

    /// Parses a `.npy` held in `bytes` and takes its Doubles' bytes out of `budget` (the bytes this read may still
    /// allocate), refusing it when they do not fit.
    ///
    /// Every size is checked before it is used: the shape's element count and byte sizes with overflow-checked
    /// arithmetic against `budget`, and the data against the bytes present, so nothing is allocated for an array
    /// the input cannot hold. Arrays with a zero extent are read (NumPy writes them, and the result is genuinely
    /// empty), but their other extents are held to the same limit as if each zero were a one: an empty
    /// `(2**62, 2**62, 0)` or `(0, 2**40, 5)` is refused rather than handed to code that loops over an axis.
    static func tensor(npyBytes bytes: UnsafeRawBufferPointer, name: String, budget: inout Int) throws -> Tensor {
        let header = try parseHeader(bytes, name: name)
        let shape = header.shape, counted = shape.map { max($0, 1) }
        let what = shape.contains(0) ? "\(name): empty shape \(shape) (checked as \(counted))"
                                     : "\(name): shape \(shape)"
        guard let elements = ResourceLimits.checkedProduct(counted) else {
            throw NumPyFormatError("\(what) has more elements than an Int can count")
        }
        let doubles = try withinLimit { try ResourceLimits.checkAllocation(count: elements, of: what, limit: budget) }
        // The product with zeros counted as ones fits, so the true count and its bytes on disk (≤ 8 each) do too.
        let count = shape.reduce(1, *), dataBytes = count * header.width
        guard bytes.count - header.dataStart >= dataBytes else {
            throw NumPyFormatError("\(name): file holds \(bytes.count - header.dataStart) data bytes, shape \(shape) "
                + "of \(header.width)-byte elements needs \(dataBytes)")
        }
        budget -= shape.contains(0) ? 0 : doubles
        let data = UnsafeRawBufferPointer(rebasing: bytes[header.dataStart..<(header.dataStart + dataBytes)])
        let fortranShape = header.fortranOrder && shape.count > 1 ? shape : nil
        let scalars = [Double](unsafeUninitializedCapacity: count) { out, initialized in
            func read<Bits: FixedWidthInteger>(_: Bits.Type, _ convert: (Bits) -> Double) {
                decode(Bits.self, data, bigEndian: header.bigEndian, fortranShape: fortranShape, into: out, convert)
            }
            switch (header.kind, header.width) {
            case ("f", 8): read(UInt64.self) { Double(bitPattern: $0) }
            case ("f", 4): read(UInt32.self) { Double(Float(bitPattern: $0)) }
            case ("i", 1): read(Int8.self) { Double($0) }
            case ("i", 2): read(Int16.self) { Double($0) }
            case ("i", 4): read(Int32.self) { Double($0) }
            case ("i", 8): read(Int64.self) { Double($0) }
            case ("u", 1): read(UInt8.self) { Double($0) }
            case ("u", 2): read(UInt16.self) { Double($0) }
            case ("u", 4): read(UInt32.self) { Double($0) }
            case ("u", 8): read(UInt64.self) { Double($0) }
            default: read(UInt8.self) { $0 == 0 ? 0 : 1 }   // bool, checked by parseHeader
            }
            initialized = count
        }
        return Tensor(shape: shape, scalars: scalars)
    }

    /// Writes the `out.count` elements stored in `data` into `out` in row-major order. On disk a Fortran-order
    /// array is column-major: element `(i₀, …, i_{r−1})` sits at `Σ i_k · Π_{j<k} n_j`, so the disk is walked in
    /// order and each element's row-major position computed from its index.
    private static func decode<Bits: FixedWidthInteger>(
        _: Bits.Type, _ data: UnsafeRawBufferPointer, bigEndian: Bool, fortranShape: [Int]?,
        into out: UnsafeMutableBufferPointer<Double>, _ convert: (Bits) -> Double
    ) {
        let size = MemoryLayout<Bits>.size
        precondition(data.count == out.count * size, "decode: \(data.count) bytes for \(out.count) elements")
        guard let shape = fortranShape else {
            for i in 0..<out.count {
                let stored = data.loadUnaligned(fromByteOffset: i * size, as: Bits.self)
                out[i] = convert(bigEndian ? Bits(bigEndian: stored) : Bits(littleEndian: stored))
            }
            return
        }
        var rowMajorStride = [Int](repeating: 1, count: shape.count)
        for k in stride(from: shape.count - 2, through: 0, by: -1) {
            rowMajorStride[k] = rowMajorStride[k + 1] * shape[k + 1]
        }
        var index = [Int](repeating: 0, count: shape.count)
        var target = 0
        for i in 0..<out.count {
            let stored = data.loadUnaligned(fromByteOffset: i * size, as: Bits.self)
            out[target] = convert(bigEndian ? Bits(bigEndian: stored) : Bits(littleEndian: stored))
            // Next column-major index: the first axis moves fastest.
            var k = 0
            while k < shape.count {
                index[k] += 1
                target += rowMajorStride[k]
                if index[k] < shape[k] { break }
                target -= index[k] * rowMajorStride[k]
                index[k] = 0
                k += 1
            }
        }
    }

    /// The magic, version, header length and header dictionary of a `.npy`, each checked against `bytes`.
    static func parseHeader(_ bytes: UnsafeRawBufferPointer, name: String) throws -> Header {
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1..<6]) == Array("NUMPY".utf8) else {
            throw NumPyFormatError("\(name): not a .npy file (missing the \\x93NUMPY magic)")
        }
        let major = bytes[6]
        let headerLength: Int, headerStart: Int
        switch major {
        case 1: headerLength = Int(bytes[8]) | Int(bytes[9]) << 8; headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw NumPyFormatError("\(name): truncated .npy header") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        default: throw NumPyFormatError("\(name): unsupported .npy format version \(major)")
        }
        guard headerLength <= maxHeaderBytes else {
            throw NumPyFormatError("\(name): .npy header length \(headerLength) is over the \(maxHeaderBytes)-byte "
                + "maximum")
        }
        guard bytes.count - headerStart >= headerLength else {
            throw NumPyFormatError("\(name): truncated .npy header (it declares \(headerLength) bytes, the file holds "
                + "\(bytes.count - headerStart))")
        }
        let header = String(decoding: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        let shown = String(header.trimmingCharacters(in: .whitespacesAndNewlines).prefix(200))
        guard let descrText = headerValue(header, "descr"), let fortranText = headerValue(header, "fortran_order"),
              let shapeText = headerValue(header, "shape") else {
            throw NumPyFormatError("\(name): malformed .npy header: \(shown)")
        }
        let descr = descrText.trimmingCharacters(in: CharacterSet(charactersIn: "'\" "))
        let order = descr.first, kind = descr.dropFirst().first, width = Int(descr.dropFirst(2))
        guard let order, let kind, let width, ["<", ">", "!", "|", "="].contains(order),
              (kind == "f" && [4, 8].contains(width)) || ("iu".contains(kind) && [1, 2, 4, 8].contains(width))
                || (kind == "b" && width == 1) else {
            throw NumPyFormatError("\(name): unsupported dtype '\(descr)' (expected float32/64, integer or bool)")
        }
        guard fortranText == "True" || fortranText == "False" else {
            throw NumPyFormatError("\(name): fortran_order must be True or False, got '\(fortranText)'")
        }
        guard shapeText.hasPrefix("("), shapeText.hasSuffix(")") else {
            throw NumPyFormatError("\(name): bad shape \(shapeText) in .npy header (expected a tuple)")
        }
        var shape: [Int] = []
        let inner = shapeText.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
        let dims = inner.split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        // "()" is a scalar; "(3,)" has one trailing comma; anything else empty between commas is malformed.
        for (i, d) in dims.enumerated() where !(d.isEmpty && (inner.isEmpty || (i == dims.count - 1 && i > 0))) {
            guard let v = Int(d), v >= 0 else {
                throw NumPyFormatError("\(name): bad shape \(shapeText) in .npy header")
            }
            shape.append(v)
        }
        return Header(kind: kind, width: width, bigEndian: order == ">" || order == "!", fortranOrder: fortranText == "True",
                      shape: shape, dataStart: headerStart + headerLength)
    }

    /// The text after `'key':` up to the next top-level comma (or the closing parenthesis of a tuple).
    static func headerValue(_ header: String, _ key: String) -> String? {
        guard let r = header.range(of: "'\(key)':") ?? header.range(of: "\"\(key)\":") else { return nil }
        var depth = 0
        var out = ""
        for ch in header[r.upperBound...] {
            if ch == "(" { depth += 1 }
            if ch == ")" { depth -= 1; if depth == 0 { out.append(ch); break } }
            if (ch == "," || ch == "}") && depth == 0 { break }
            out.append(ch)
        }
        return out.trimmingCharacters(in: .whitespaces)
    }

    /// Runs `body`, turning a `ResourceLimitError` into a `NumPyFormatError` (its message already names the file).
    static func withinLimit<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as ResourceLimitError { throw NumPyFormatError(e.message) }
    }

    /// Reads one array from a `.npy` file.
    public static func load(npy url: URL) throws -> Tensor {
        try tensor(npy: try readFile(url), name: url.path)
    }

    /// Writes one array as `.npy`, atomically.
    public static func save(_ tensor: Tensor, npy url: URL) throws {
        try writeAtomically(npyData(tensor), to: url)
    }

    // MARK: .npz

    /// Writes named arrays as an uncompressed `.npz` (what `np.savez` writes), atomically. Names are
    /// written in the given order.
    public static func save(_ arrays: [(name: String, tensor: Tensor)], npz url: URL) throws {
        try writeAtomically(try npzData(arrays, name: url.path), to: url)
    }

    /// The bytes of an uncompressed `.npz` holding `arrays` in the given order; `name` is used in error messages.
    public static func npzData(_ arrays: [(name: String, tensor: Tensor)], name: String = "arrays.npz") throws -> Data {
        var names = Set<String>()
        for (array, _) in arrays {
            guard !array.isEmpty, !array.contains("/"), names.insert(array).inserted else {
                throw NumPyFormatError("\(name): array name '\(array)' is empty, has a '/', or repeats")
            }
        }
        return try zipStored(arrays.map { ($0.name + ".npy", npyData($0.tensor)) }, path: name)
    }

    /// Reads every array of a `.npz`, by name (without the `.npy` suffix).
    public static func load(npz url: URL) throws -> [String: Tensor] {
        try arrays(npz: try readFile(url), name: url.path)
    }

    /// Every array of a `.npz` held in memory, by name (without the `.npy` suffix); `name` is used in error
    /// messages. The arrays together may take at most `maxArrayBytes` as Doubles (see `unzip` for the checks
    /// on the archive itself).
    public static func arrays(npz data: Data, name: String = "arrays.npz") throws -> [String: Tensor] {
        var budget = maxArrayBytes
        var out: [String: Tensor] = [:]
        try data.withUnsafeBytes { bytes in
            try unzip(bytes, name: name, limit: budget) { entry, body in
                let key = entry.hasSuffix(".npy") ? String(entry.dropLast(4)) : entry
                guard out[key] == nil else { throw NumPyFormatError("\(name): array '\(key)' appears twice") }
                out[key] = try tensor(npyBytes: body, name: "\(name)[\(key)]", budget: &budget)
            }
        }
        return out
    }

    /// The most memory one read may take: the Doubles of one `.npy` array, or of all the arrays of one `.npz`
    /// together (which also bounds what its members may declare). Defaults to `ResourceLimits.maxBytes`
    /// (`ICL_MAX_MEMORY`, else 1 GiB); assignable (at start-up or in tests: it is not synchronized).
    nonisolated(unsafe) public static var maxArrayBytes: Int = ResourceLimits.maxBytes

    /// The bytes of the file at `url`, refused before reading when it is larger than any file holding arrays
    /// within `maxArrayBytes` can be: the data (≤ 8 bytes an element on disk) plus 1 MiB for headers and
    /// directories, plus 1/256 for deflate's worst-case growth of incompressible data (~0.03%).
    static func readFile(_ url: URL) throws -> Data {
        var info = stat()
        guard stat(url.path, &info) == 0 else {   // stat follows symbolic links, as reading does
            throw NumPyFormatError("\(url.path): cannot read file (\(FileErrors.cause(reading: url.path, errno: errno)))")
        }
        guard info.st_mode & S_IFMT != S_IFDIR else { throw NumPyFormatError("\(url.path): cannot read file (it is a directory)") }
        guard info.st_mode & S_IFMT == S_IFREG else { throw NumPyFormatError("\(url.path): not a regular file") }
        let size = Int(info.st_size)
        let limit = maxArrayBytes.addingReportingOverflow(maxArrayBytes / 256 + (1 << 20))
        guard limit.overflow || size <= limit.partialValue else {
            throw NumPyFormatError("\(url.path): the file is \(ResourceLimits.describe(bytes: size)), larger than "
                + "arrays within the \(ResourceLimits.describe(bytes: maxArrayBytes)) limit can need; if that is intended, "
                + "raise it with \(ResourceLimits.environmentVariable)")
        }
        do { return try Data(contentsOf: url) } catch {
            throw NumPyFormatError("\(url.path): cannot read file (\(FileErrors.cause(reading: url.path, error)))")
        }
    }

    /// Writes `data` to a temporary file beside `url` and renames it into place.
    public static func writeAtomically(_ data: Data, to url: URL) throws {
        let dir = url.deletingLastPathComponent()
        let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)")
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw NumPyFormatError("\(url.path): cannot write file (it is a directory)")
        }
        // Write with POSIX calls so that a failure has its plain cause (no such directory, permission denied,
        // not a directory, no space left), not Foundation's error dump.
        let fd = open(tmp.path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else {
            throw NumPyFormatError("\(url.path): cannot write file (\(FileErrors.describe(errno, directory: dir.path)))")
        }
        var failure: Int32 = 0
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 { if errno == EINTR { continue }; failure = errno; return }
                offset += n
            }
        }
        if failure == 0 && fsync(fd) != 0 { failure = errno }
        close(fd)
        if failure != 0 {
            try? FileManager.default.removeItem(at: tmp)
            throw NumPyFormatError("\(url.path): cannot write file (\(FileErrors.describe(failure, directory: dir.path)))")
        }
        // rename(2) replaces an existing file atomically: readers see the old file or the new one, never a mix.
        if rename(tmp.path, url.path) != 0 {
            let reason = FileErrors.describe(errno, directory: dir.path)
            try? FileManager.default.removeItem(at: tmp)
            throw NumPyFormatError("\(url.path): cannot write file (\(reason))")
        }
    }
}

/// One line for a file-system failure: the cause in plain words, with the directory where it matters.
public enum FileErrors {
    public static func describe(_ code: Int32, directory: String) -> String {
        switch code {
        case ENOENT: return "no such directory: \(directory)"
        case ENOTDIR: return "a component of \(directory) is a file, not a directory"
        case EACCES, EPERM: return "permission denied in \(directory)"
        case EROFS: return "\(directory) is on a read-only file system"
        case ENOSPC: return "no space left on the device of \(directory)"
        case EDQUOT: return "disk quota exceeded in \(directory)"
        case EISDIR: return "it is a directory"
        default: return String(cString: strerror(code))
        }
    }

    /// The POSIX cause behind a Foundation file error, in the same words (Foundation's own codes mapped too).
    public static func describe(_ error: Error, directory: String) -> String {
        let e = error as NSError
        if let underlying = e.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return describe(Int32(underlying.code), directory: directory)
        }
        if e.domain == NSPOSIXErrorDomain { return describe(Int32(e.code), directory: directory) }
        if e.domain == NSCocoaErrorDomain {
            switch e.code {
            case 4, 260: return "no such file or directory"
            case 257, 513: return "permission denied in \(directory)"
            case 516: return "it already exists"
            case 640: return describe(ENOSPC, directory: directory)
            case 642: return describe(EROFS, directory: directory)
            default: break
            }
        }
        return e.localizedDescription
    }

    /// Why `path` cannot be read, from the file system itself (Foundation's errors often carry a generic code):
    /// a directory where a file should be, no such file, a file where a directory should be, permission.
    public static func cause(reading path: String, _ error: Error? = nil, errno code: Int32 = 0) -> String {
        var info = stat()
        if stat(path, &info) == 0 {
            if info.st_mode & S_IFMT == S_IFDIR { return "it is a directory" }
            if access(path, R_OK) != 0 { return "permission denied" }
        } else if let blocker = fileInPath(path) {
            return "\(blocker) is a file, not a directory"
        } else if errno == ENOENT || code == ENOENT {
            return "no such file"
        }
        if let error { return describe(error, directory: (path as NSString).deletingLastPathComponent) }
        return code != 0 ? String(cString: strerror(code)) : "unknown cause"
    }

    /// Why directory `path` cannot be created: a file where a directory should be, or the nearest existing
    /// ancestor's permission or read-only file system, else Foundation's error in plain words.
    public static func cause(creating path: String, _ error: Error) -> String {
        if let blocker = fileInPath(path) { return "\(blocker) is a file, not a directory" }
        var dir = path
        while !dir.isEmpty && dir != "/" {
            dir = (dir as NSString).deletingLastPathComponent
            var info = stat()
            guard stat(dir.isEmpty ? "." : dir, &info) == 0 else { continue }
            if access(dir.isEmpty ? "." : dir, W_OK) != 0 { return describe(errno, directory: dir) }
            break
        }
        return describe(error, directory: (path as NSString).deletingLastPathComponent)
    }

    /// The first component of `path` (the path itself included) that exists and is not a directory, when
    /// `path` names something inside it.
    static func fileInPath(_ path: String) -> String? {
        var prefix = path.hasPrefix("/") ? "" : "."
        let parts = path.split(separator: "/")
        for (i, part) in parts.enumerated() where i < parts.count - 1 {
            prefix += "/" + part
            var info = stat()
            if stat(prefix, &info) == 0 && info.st_mode & S_IFMT != S_IFDIR {
                return path.hasPrefix("/") ? prefix : String(prefix.dropFirst(2))
            }
        }
        return nil
    }
}
