import CZlib
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

    /// Parses the bytes of a `.npy` file; `name` is used in error messages.
    public static func tensor(npy data: Data, name: String = "array") throws -> Tensor {
        let bytes = [UInt8](data)
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
        guard bytes.count >= headerStart + headerLength else { throw NumPyFormatError("\(name): truncated .npy header") }
        let header = String(decoding: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        guard let descr = headerValue(header, "descr")?.trimmingCharacters(in: CharacterSet(charactersIn: "'\" ")),
              let fortranText = headerValue(header, "fortran_order"),
              let shapeText = headerValue(header, "shape") else {
            throw NumPyFormatError("\(name): malformed .npy header: \(header.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        let fortran = fortranText.trimmingCharacters(in: .whitespaces) == "True"
        let dims = shapeText.trimmingCharacters(in: CharacterSet(charactersIn: "() "))
            .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        var shape: [Int] = []
        for d in dims {
            guard let v = Int(d), v >= 0 else { throw NumPyFormatError("\(name): bad shape \(shapeText) in .npy header") }
            shape.append(v)
        }
        let count = shape.reduce(1, *)
        guard descr.count >= 3, let width = Int(descr.dropFirst(2)) else {
            throw NumPyFormatError("\(name): unsupported dtype '\(descr)'")
        }
        let order = descr.first!, kind = descr.dropFirst().first!
        let bigEndian = order == ">" || (order == "!")
        guard ["<", ">", "|", "=", "!"].contains(order),
              (kind == "f" && (width == 8 || width == 4)) || ((kind == "i" || kind == "u") && [1, 2, 4, 8].contains(width))
                || (kind == "b" && width == 1) else {
            throw NumPyFormatError("\(name): unsupported dtype '\(descr)' (expected float, integer or bool)")
        }
        let start = headerStart + headerLength
        guard bytes.count >= start + count * width else {
            throw NumPyFormatError("\(name): file holds \(bytes.count - start) data bytes, shape \(shape) of '\(descr)' needs \(count * width)")
        }
        var values = [Double](repeating: 0, count: count)
        for i in 0..<count {
            var raw: UInt64 = 0
            for b in 0..<width {
                let byte = UInt64(bytes[start + i * width + (bigEndian ? width - 1 - b : b)])
                raw |= byte << (8 * UInt64(b))
            }
            switch (kind, width) {
            case ("f", 8): values[i] = Double(bitPattern: raw)
            case ("f", 4): values[i] = Double(Float(bitPattern: UInt32(raw)))
            case ("i", _):
                let shift = UInt64(64 - 8 * width)
                values[i] = Double(Int64(bitPattern: raw << shift) >> Int64(shift))
            default: values[i] = Double(raw)   // unsigned and bool
            }
        }
        if fortran && shape.count > 1 {
            // Column-major on disk: element (i₀, …, i_{r−1}) sits at Σ i_k · Π_{j<k} n_j.
            var c = [Double](repeating: 0, count: count)
            var index = [Int](repeating: 0, count: shape.count)
            for o in 0..<count {
                var f = 0, stride = 1
                for k in 0..<shape.count { f += index[k] * stride; stride *= shape[k] }
                c[o] = values[f]
                var d = shape.count - 1
                while d >= 0 { index[d] += 1; if index[d] < shape[d] { break }; index[d] = 0; d -= 1 }
            }
            values = c
        }
        return Tensor(shape: shape, scalars: values)
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

    /// Reads one array from a `.npy` file.
    public static func load(npy url: URL) throws -> Tensor {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw NumPyFormatError("\(url.path): cannot read file (\(error.localizedDescription))")
        }
        return try tensor(npy: data, name: url.path)
    }

    /// Writes one array as `.npy`, atomically.
    public static func save(_ tensor: Tensor, npy url: URL) throws {
        try writeAtomically(npyData(tensor), to: url)
    }

    // MARK: .npz

    /// Writes named arrays as an uncompressed `.npz` (what `np.savez` writes), atomically. Names are
    /// written in the given order.
    public static func save(_ arrays: [(name: String, tensor: Tensor)], npz url: URL) throws {
        var names = Set<String>()
        for (name, _) in arrays {
            guard !name.isEmpty, !name.contains("/"), names.insert(name).inserted else {
                throw NumPyFormatError("\(url.path): array name '\(name)' is empty, has a '/', or repeats")
            }
        }
        try writeAtomically(zipStored(arrays.map { ($0.name + ".npy", npyData($0.tensor)) }), to: url)
    }

    /// Reads every array of a `.npz`, by name (without the `.npy` suffix).
    public static func load(npz url: URL) throws -> [String: Tensor] {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw NumPyFormatError("\(url.path): cannot read file (\(error.localizedDescription))")
        }
        var out: [String: Tensor] = [:]
        for (entry, bytes) in try unzip(data, name: url.path) {
            let key = entry.hasSuffix(".npy") ? String(entry.dropLast(4)) : entry
            out[key] = try tensor(npy: bytes, name: "\(url.path)[\(key)]")
        }
        return out
    }

    /// Writes `data` to a temporary file beside `url` and renames it into place.
    public static func writeAtomically(_ data: Data, to url: URL) throws {
        let dir = url.deletingLastPathComponent()
        let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)")
        do {
            try data.write(to: tmp)
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            throw NumPyFormatError("\(url.path): cannot write file (\(error.localizedDescription))")
        }
        // rename(2) replaces an existing file atomically: readers see the old file or the new one, never a mix.
        if rename(tmp.path, url.path) != 0 {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: tmp)
            throw NumPyFormatError("\(url.path): cannot write file (\(reason))")
        }
    }

    // MARK: zip (stored write; stored and deflate read)

    static func crc32Of(_ data: Data) -> UInt32 {
        data.withUnsafeBytes { p in
            UInt32(crc32(0, p.bindMemory(to: UInt8.self).baseAddress, uInt(p.count)))
        }
    }

    static func zipStored(_ files: [(String, Data)]) -> Data {
        var out = Data(), central = Data()
        func u16(_ v: Int, _ d: inout Data) { d.append(contentsOf: [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)]) }
        func u32(_ v: UInt32, _ d: inout Data) { for s in stride(from: 0, to: 32, by: 8) { d.append(UInt8((v >> UInt32(s)) & 0xFF)) } }
        for (name, body) in files {
            let offset = UInt32(out.count), crc = crc32Of(body), nameBytes = Array(name.utf8)
            u32(0x0403_4B50, &out); u16(20, &out); u16(0, &out); u16(0, &out); u16(0, &out); u16(0x21, &out)
            u32(crc, &out); u32(UInt32(body.count), &out); u32(UInt32(body.count), &out)
            u16(nameBytes.count, &out); u16(0, &out); out.append(contentsOf: nameBytes); out.append(body)
            u32(0x0201_4B50, &central); u16(20, &central); u16(20, &central); u16(0, &central); u16(0, &central)
            u16(0, &central); u16(0x21, &central); u32(crc, &central); u32(UInt32(body.count), &central)
            u32(UInt32(body.count), &central); u16(nameBytes.count, &central); u16(0, &central); u16(0, &central)
            u16(0, &central); u16(0, &central); u32(0, &central); u32(offset, &central)
            central.append(contentsOf: nameBytes)
        }
        let centralOffset = UInt32(out.count)
        out.append(central)
        u32(0x0605_4B50, &out); u16(0, &out); u16(0, &out); u16(files.count, &out); u16(files.count, &out)
        u32(UInt32(central.count), &out); u32(centralOffset, &out); u16(0, &out)
        return out
    }

    static func unzip(_ data: Data, name: String) throws -> [(String, Data)] {
        let b = [UInt8](data)
        func u16(_ o: Int) -> Int { Int(b[o]) | Int(b[o + 1]) << 8 }
        func u32(_ o: Int) -> Int { u16(o) | u16(o + 2) << 16 }
        // The end-of-central-directory record is within the last 64 KiB + 22 bytes.
        var eocd = -1
        var o = b.count - 22
        while o >= max(0, b.count - 22 - 65_535) {
            if b[o] == 0x50, b[o + 1] == 0x4B, b[o + 2] == 0x05, b[o + 3] == 0x06 { eocd = o; break }
            o -= 1
        }
        guard b.count >= 22, eocd >= 0 else { throw NumPyFormatError("\(name): not a .npz (zip) file") }
        let entries = u16(eocd + 10), centralSize = u32(eocd + 12), centralOffset = u32(eocd + 16)
        guard centralOffset + centralSize <= eocd, centralOffset != 0xFFFF_FFFF else {
            throw NumPyFormatError("\(name): corrupt or ZIP64 .npz (central directory out of range)")
        }
        var files: [(String, Data)] = []
        var p = centralOffset
        for _ in 0..<entries {
            guard p + 46 <= b.count, u32(p) == 0x0201_4B50 else { throw NumPyFormatError("\(name): corrupt zip directory") }
            let method = u16(p + 10), crc = UInt32(u32(p + 16)), compSize = u32(p + 20), size = u32(p + 24)
            let nameLen = u16(p + 28), extraLen = u16(p + 30), commentLen = u16(p + 32), local = u32(p + 42)
            guard p + 46 + nameLen <= b.count else { throw NumPyFormatError("\(name): corrupt zip directory") }
            let entry = String(decoding: b[(p + 46)..<(p + 46 + nameLen)], as: UTF8.self)
            p += 46 + nameLen + extraLen + commentLen
            guard local + 30 <= b.count, u32(local) == 0x0403_4B50 else {
                throw NumPyFormatError("\(name): corrupt zip entry '\(entry)'")
            }
            let start = local + 30 + u16(local + 26) + u16(local + 28)
            guard start + compSize <= b.count else { throw NumPyFormatError("\(name): truncated zip entry '\(entry)'") }
            let raw = Data(b[start..<(start + compSize)])
            let body: Data
            switch method {
            case 0: body = raw
            case 8: body = try inflate(raw, size: size, name: "\(name)[\(entry)]")
            default: throw NumPyFormatError("\(name): zip entry '\(entry)' uses unsupported compression method \(method)")
            }
            guard crc32Of(body) == crc else { throw NumPyFormatError("\(name): CRC mismatch in zip entry '\(entry)'") }
            files.append((entry, body))
        }
        return files
    }

    static func inflate(_ raw: Data, size: Int, name: String) throws -> Data {
        var out = [UInt8](repeating: 0, count: max(size, 1))
        var stream = z_stream()
        var status = inflateInit2_(&stream, -MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else { throw NumPyFormatError("\(name): zlib could not start inflating") }
        defer { inflateEnd(&stream) }
        var input = [UInt8](raw)
        status = input.withUnsafeMutableBufferPointer { inp in
            out.withUnsafeMutableBufferPointer { outp in
                stream.next_in = inp.baseAddress
                stream.avail_in = uInt(inp.count)
                stream.next_out = outp.baseAddress
                stream.avail_out = uInt(outp.count)
                return CZlib.inflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END, Int(stream.total_out) == size else {
            throw NumPyFormatError("\(name): corrupt deflate data")
        }
        return Data(out.prefix(size))
    }
}
