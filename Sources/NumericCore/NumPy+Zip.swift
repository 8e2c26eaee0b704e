import CZlib
import Foundation

/// The zip container of `.npz`: stored members written, stored and deflated members read.
///
/// Reading trusts nothing the archive says: every offset and length is checked against the bytes present
/// before it is used, members may not overlap, a stored member's data must lie inside the file, a deflated
/// member's declared size must be possible for its compressed size and within the caller's limit, and inflation
/// runs in bounded chunks that stop one byte past the declared size. Sizes in a zip are at most 32 bits, so the
/// offset arithmetic below cannot overflow a 64-bit `Int`.
extension NumPy {
    /// Bytes inflated per zlib call; the only buffer beyond the member itself.
    static let inflateChunkBytes = 64 << 10

    /// zlib's stated maximum compression ratio for deflate (a 258-byte match per 2 bits, asymptotically):
    /// a member that declares more than this times its compressed size cannot be telling the truth.
    static let maxDeflateRatio = 1032

    /// One member as the central directory describes it, after its local header has been found and checked.
    struct ZipMember {
        var name: String
        var method: Int
        var crc: UInt32
        /// Where the local header starts (for the overlap check).
        var localOffset: Int
        /// The member's bytes as stored in the archive.
        var data: Range<Int>
        /// Its size once inflated, as declared.
        var size: Int
    }

    /// Calls `body` with each member's name and uncompressed bytes, in directory order, after checking the
    /// whole directory: the members' declared sizes together must be at most `limit` bytes (nothing is
    /// allocated before that), and each deflated member is inflated only while `body` runs. `checkCRCs: false`
    /// lets the fuzzer reach the `.npy` parser with mutated members.
    static func unzip(_ b: UnsafeRawBufferPointer, name: String, limit: Int, checkCRCs: Bool = true,
                      _ body: (String, UnsafeRawBufferPointer) throws -> Void) throws {
        let members = try zipDirectory(b, name: name)
        let declared = members.reduce(0) { $0 + $1.size }   // ≤ 65,535 × (2³² − 1): no overflow
        guard declared <= limit else {
            throw NumPyFormatError("\(name): its members declare \(ResourceLimits.describe(bytes: declared)) "
                + "(\(declared) bytes) uncompressed, over the \(ResourceLimits.describe(bytes: limit)) limit; if "
                + "that is intended, raise it with \(ResourceLimits.environmentVariable)")
        }
        for m in members {
            let raw = UnsafeRawBufferPointer(rebasing: b[m.data])
            let member = "\(name)[\(m.name)]"
            switch m.method {
            case 0:
                if checkCRCs { try checkCRC(raw, m.crc, member) }
                try body(m.name, raw)
            case 8:
                let inflated = try inflate(raw, size: m.size, name: member)
                try inflated.withUnsafeBytes { bytes in
                    if checkCRCs { try checkCRC(bytes, m.crc, member) }
                    try body(m.name, bytes)
                }
            default:
                throw NumPyFormatError("\(member): unsupported compression method \(m.method) (expected stored or "
                    + "deflate)")
            }
        }
    }

    /// The members listed by the central directory of the zip in `b`, each checked against the file.
    static func zipDirectory(_ b: UnsafeRawBufferPointer, name: String) throws -> [ZipMember] {
        func u16(_ o: Int) -> Int { Int(b[o]) | Int(b[o + 1]) << 8 }
        func u32(_ o: Int) -> Int { u16(o) | u16(o + 2) << 16 }
        // The end-of-central-directory record (22 bytes) is within the last 64 KiB + 22 bytes (its comment).
        guard b.count >= 22 else { throw NumPyFormatError("\(name): not a .npz (zip) file") }
        var eocd = -1
        for o in stride(from: b.count - 22, through: max(0, b.count - 22 - 65_535), by: -1)
        where u32(o) == 0x0605_4B50 {
            eocd = o
            break
        }
        guard eocd >= 0 else { throw NumPyFormatError("\(name): not a .npz (zip) file") }
        let entries = u16(eocd + 10), centralSize = u32(eocd + 12), centralOffset = u32(eocd + 16)
        guard u16(eocd + 4) == 0, u16(eocd + 6) == 0, u16(eocd + 8) == entries else {
            throw NumPyFormatError("\(name): multi-disk zip archives are not supported")
        }
        guard entries != 0xFFFF, centralSize != 0xFFFF_FFFF, centralOffset != 0xFFFF_FFFF else {
            throw NumPyFormatError("\(name): ZIP64 archives (members of 4 GiB or more) are not supported")
        }
        guard centralOffset + centralSize <= eocd else {
            throw NumPyFormatError("\(name): corrupt zip: the central directory (\(centralSize) bytes at offset "
                + "\(centralOffset)) runs past its end record at \(eocd)")
        }
        let centralEnd = centralOffset + centralSize
        var members: [ZipMember] = []
        var p = centralOffset
        for index in 0..<entries {
            guard centralEnd - p >= 46, u32(p) == 0x0201_4B50 else {
                throw NumPyFormatError("\(name): corrupt zip directory (entry \(index) of \(entries) at offset \(p))")
            }
            let flags = u16(p + 8), method = u16(p + 10), crc = UInt32(u32(p + 16))
            let compressedSize = u32(p + 20), size = u32(p + 24)
            let nameLength = u16(p + 28), extraLength = u16(p + 30), commentLength = u16(p + 32)
            let localOffset = u32(p + 42)
            guard centralEnd - p - 46 >= nameLength + extraLength + commentLength else {
                throw NumPyFormatError("\(name): corrupt zip directory (entry \(index) runs past the directory)")
            }
            let entry = String(decoding: UnsafeRawBufferPointer(rebasing: b[(p + 46)..<(p + 46 + nameLength)]),
                               as: UTF8.self)
            let member = "\(name)[\(entry)]"
            p += 46 + nameLength + extraLength + commentLength
            guard compressedSize != 0xFFFF_FFFF, size != 0xFFFF_FFFF, localOffset != 0xFFFF_FFFF else {
                throw NumPyFormatError("\(member): ZIP64 members (4 GiB or more) are not supported")
            }
            guard flags & 1 == 0 else { throw NumPyFormatError("\(member): encrypted zip members are not supported") }
            // The local header repeats the name and may carry a different extra field; NumPy's ZIP64 local headers
            // hold 0xFFFFFFFF sizes, so the sizes come from the central directory.
            guard centralOffset - localOffset >= 30, u32(localOffset) == 0x0403_4B50 else {
                throw NumPyFormatError("\(member): corrupt zip: no local header at offset \(localOffset) (the "
                    + "members end at \(centralOffset))")
            }
            let start = localOffset + 30 + u16(localOffset + 26) + u16(localOffset + 28)
            guard start <= centralOffset, centralOffset - start >= compressedSize else {
                throw NumPyFormatError("\(member): truncated zip member: \(compressedSize) bytes at offset \(start) "
                    + "run past the end of the members at \(centralOffset)")
            }
            switch method {
            case 0 where compressedSize != size:
                throw NumPyFormatError("\(member): stored member declares \(size) bytes but holds \(compressedSize)")
            case 8 where size > compressedSize * maxDeflateRatio:
                throw NumPyFormatError("\(member): declares \(size) bytes from \(compressedSize) compressed bytes, "
                    + "more than deflate's \(maxDeflateRatio):1 maximum ratio allows")
            default: break
            }
            members.append(ZipMember(name: entry, method: method, crc: crc, localOffset: localOffset,
                                     data: start..<(start + compressedSize), size: size))
        }
        // Members that share bytes (a "quine" or overlapping zip bomb) are refused: each byte of the archive
        // may belong to one member only.
        let sorted = members.sorted { $0.localOffset < $1.localOffset }
        for (a, next) in zip(sorted, sorted.dropFirst()) where a.data.upperBound > next.localOffset {
            throw NumPyFormatError("\(name): corrupt zip: members '\(a.name)' and '\(next.name)' overlap")
        }
        return members
    }

    /// Inflates a raw deflate stream that declares `size` bytes, in chunks of `inflateChunkBytes`, stopping one
    /// byte past `size`: a stream that inflates to more or to less than it declares is refused.
    static func inflate(_ raw: UnsafeRawBufferPointer, size: Int, name: String) throws -> [UInt8] {
        var stream = z_stream()
        guard inflateInit2_(&stream, -MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw NumPyFormatError("\(name): zlib could not start inflating")
        }
        defer { inflateEnd(&stream) }
        // Reserving the declared size (already held to the caller's limit) costs address space, not memory:
        // pages are touched only as inflated bytes arrive.
        var out: [UInt8] = []
        out.reserveCapacity(size)
        var chunk = [UInt8](repeating: 0, count: inflateChunkBytes)
        // zlib reads next_in and never writes through it.
        stream.next_in = UnsafeMutablePointer(mutating: raw.bindMemory(to: UInt8.self).baseAddress)
        stream.avail_in = uInt(raw.count)
        var status = Z_OK
        while status != Z_STREAM_END {
            let request = min(chunk.count, size - out.count + 1)
            status = chunk.withUnsafeMutableBufferPointer { c in
                stream.next_out = c.baseAddress
                stream.avail_out = uInt(request)
                return CZlib.inflate(&stream, Z_NO_FLUSH)
            }
            let produced = request - Int(stream.avail_out)
            guard produced <= size - out.count else {
                throw NumPyFormatError("\(name): deflate data inflates to more than the \(size) bytes it declares")
            }
            out.append(contentsOf: chunk[0..<produced])
            // Each Z_OK call consumed input or produced output, both bounded, so the loop ends; Z_BUF_ERROR means
            // no progress was possible: the input ran out before the stream's end.
            switch status {
            case Z_OK, Z_STREAM_END: continue
            case Z_BUF_ERROR:
                throw NumPyFormatError("\(name): deflate data ends early, after \(out.count) of the \(size) bytes it "
                    + "declares")
            default:
                let reason = stream.msg.map { String(cString: $0) } ?? "zlib status \(status)"
                throw NumPyFormatError("\(name): corrupt deflate data (\(reason))")
            }
        }
        guard out.count == size else {
            throw NumPyFormatError("\(name): deflate data inflates to \(out.count) bytes, less than the \(size) it "
                + "declares")
        }
        return out
    }

    /// zlib's CRC-32 of `bytes`, fed in pieces that fit zlib's 32-bit lengths.
    static func crc32Of(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc: uLong = 0
        var offset = 0
        repeat {
            let n = min(bytes.count - offset, 1 << 30)
            let piece = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + n)])
            crc = crc32(crc, piece.bindMemory(to: UInt8.self).baseAddress, uInt(n))
            offset += n
        } while offset < bytes.count
        return UInt32(crc)
    }

    static func checkCRC(_ bytes: UnsafeRawBufferPointer, _ expected: UInt32, _ member: String) throws {
        guard crc32Of(bytes) == expected else { throw NumPyFormatError("\(member): CRC mismatch (corrupt zip member)") }
    }

    /// A zip of `files` as stored (uncompressed) members, each with its CRC-32; refused beyond what a zip without
    /// ZIP64 records can hold (65,535 members, 4 GiB).
    static func zipStored(_ files: [(String, Data)], path: String) throws -> Data {
        var out = Data(), central = Data()
        func u16(_ v: Int, _ d: inout Data) { d.append(contentsOf: [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)]) }
        func u32(_ v: UInt32, _ d: inout Data) {
            for s in stride(from: 0, to: 32, by: 8) { d.append(UInt8((v >> UInt32(s)) & 0xFF)) }
        }
        let total = files.reduce(0) { $0 + $1.1.count + 2 * (76 + $1.0.utf8.count) }
        guard files.count < 0xFFFF, total < 0xFFFF_FFFF else {
            throw NumPyFormatError("\(path): \(files.count) arrays of \(ResourceLimits.describe(bytes: total)) need "
                + "ZIP64, which this writer does not produce")
        }
        for (name, body) in files {
            let offset = UInt32(out.count), nameBytes = Array(name.utf8)
            let crc = body.withUnsafeBytes(crc32Of)
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
}
