#!/usr/bin/env python3
"""Writes the hostile-input regression corpus for the .npy/.npz reader.

Usage: python3 scripts/make_hostile_corpus.py [OUTDIR]
(default Tests/NumericCoreTests/Fixtures/hostile). Standard library only (struct, zlib, zipfile-free): every byte
is laid out by hand, so files can lie in exactly one place each. Deterministic: re-running rewrites identical files.

Files named valid_* are well-formed and must load with the values HostileInputTests expects; every other file
must be refused with one NumPyFormatError. Each class of file is described where it is written.
"""
import os
import struct
import sys
import zlib

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "NumericCoreTests", "Fixtures", "hostile")

GiB = 1 << 30


# MARK: .npy

def npy(shape, data=b"", descr="<f8", fortran=False, version=1, header=None, length=None):
    """A .npy file. `shape` is the tuple text as written in the header; `header` replaces the whole dictionary;
    `length` replaces the header-length field (the header bytes themselves are unchanged)."""
    if header is None:
        header = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape)
    prefix = 10 if version == 1 else 12
    pad = (64 - (prefix + len(header) + 1) % 64) % 64
    text = (header + " " * pad + "\n").encode("latin1")
    n = len(text) if length is None else length
    size = struct.pack("<H", n) if version == 1 else struct.pack("<I", n)
    return b"\x93NUMPY" + bytes([version, 0]) + size + text + data


def f8(values, big=False):
    return struct.pack((">" if big else "<") + "%dd" % len(values), *values)


# MARK: zip

def deflate(data, level=9):
    c = zlib.compressobj(level, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def member(name, body, method=0, **overrides):
    """One zip member: `body` uncompressed; stored (0) or deflated (8). `overrides` replace what the central
    directory says: crc, size, csize, offset (relative shift), raw (the bytes stored), flags."""
    raw = deflate(body) if method == 8 else body
    m = dict(name=name.encode(), method=method, crc=zlib.crc32(body), size=len(body), raw=raw, flags=0)
    m["csize"] = len(raw)
    m.update(overrides)
    if "raw" in overrides and "csize" not in overrides:
        m["csize"] = len(m["raw"])
    return m


def zipfile_bytes(members, central_offset_shift=0, entries=None, truncate=None):
    out, central = b"", b""
    for m in members:
        offset = m.get("at", len(out))
        if "at" not in m:
            out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, m["flags"], m["method"], 0, 0x21, m["crc"],
                               m["csize"] & 0xFFFFFFFF, m["size"] & 0xFFFFFFFF, len(m["name"]), 0)
            out += m["name"] + m["raw"]
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, m["flags"], m["method"], 0, 0x21, m["crc"],
                               m["csize"] & 0xFFFFFFFF, m["size"] & 0xFFFFFFFF, len(m["name"]), 0, 0, 0, 0, 0,
                               (offset + m.get("offset", 0)) & 0xFFFFFFFF)
        central += m["name"]
    n = len(members) if entries is None else entries
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, len(central),
                      (len(out) + central_offset_shift) & 0xFFFFFFFF, 0)
    data = out + central + end
    return data if truncate is None else data[:truncate]


def npz(arrays, method=0):
    """A well-formed .npz of (name, npy bytes) pairs."""
    return zipfile_bytes([member(k + ".npy", v, method) for k, v in arrays])


def bomb_stream(total, chunk=64 << 20):
    """A raw deflate stream of `total` zero bytes, built in chunks so memory stays small, and its CRC-32."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    parts, crc, left = [], 0, total
    block = bytes(chunk)
    while left > 0:
        piece = block if left >= chunk else bytes(left)
        parts.append(c.compress(piece))
        crc = zlib.crc32(piece, crc)
        left -= len(piece)
    parts.append(c.flush())
    return b"".join(parts), crc


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))
    files = {}
    six = f8([0.0, 0.25, 0.5, 0.75, 1.0, 1.25])

    # Shapes whose element count or byte size overflows Int64 (they wrapped to small numbers and read past the
    # buffer), with a matching `ys` as a prompt file would have. A few bytes of data each.
    files["shape_2p61_1_1.npz"] = npz([("xs", npy("(2305843009213693952, 1, 1)", f8([1.0]))),
                                       ("ys", npy("(2305843009213693952, 1)", f8([1.0])))])
    files["shape_2p31_2p31_4.npz"] = npz([("xs", npy("(2147483648, 2147483648, 4)", f8([1.0]))),
                                          ("ys", npy("(2147483648, 2147483648)", f8([1.0])))])
    # Empty arrays whose other extents are absurd: the product wraps to 0 or is 0, so every size check passed
    # and later code looped over an axis of 2**62 or 2**40 points.
    files["shape_2p62_2p62_0.npz"] = npz([("xs", npy("(4611686018427387904, 4611686018427387904, 0)")),
                                          ("ys", npy("(4611686018427387904, 4611686018427387904)"))])
    files["empty_b0_n2p40.npz"] = npz([("xs", npy("(0, 1099511627776, 5)")), ("ys", npy("(0, 1099511627776)"))])
    files["shape_one_axis_over_cap.npy"] = npy("(134217729,)", f8([1.0]))  # 1 GiB + 8 bytes of Doubles
    files["shape_negative.npy"] = npy("(-1, 3)", six)
    files["shape_too_many_digits.npy"] = npy("(99999999999999999999999,)", six)
    files["shape_not_a_tuple.npy"] = npy("6", six)
    files["shape_empty_entry.npy"] = npy("(2, , 3)", six)

    # Zip bombs. A member declaring 4 GiB (just under ZIP64's sentinel) from 10 bytes: impossible for deflate.
    files["bomb_declares_4gib.npz"] = zipfile_bytes([member("xs.npy", npy("(2,)", f8([1, 2])), 8,
                                                           size=0xFFFFFFFE)])
    # A real bomb: 1.25 GiB of zeros in ~1.3 MB, declared truthfully; refused by the cap before inflating.
    raw, crc = bomb_stream(GiB + GiB // 4)
    files["bomb_1p25gib_zeros.npz"] = zipfile_bytes([member("xs.npy", b"", 8, raw=raw, crc=crc,
                                                           size=GiB + GiB // 4)])
    # 10 MB of zeros (an honest .npy of 1.25M Doubles) declared as 1,000 bytes: inflation must stop at 1,001.
    big = npy("(1310720,)", bytes(1310720 * 8))
    files["bomb_10mb_declares_1000.npz"] = zipfile_bytes([member("xs.npy", big, 8, size=1000)])
    # A member that declares more than it inflates to.
    small = npy("(2, 3)", six)
    files["bomb_declares_more_than_inflates.npz"] = zipfile_bytes([member("xs.npy", small, 8,
                                                                         size=len(small) + 4096)])
    # Two directory entries pointing at the same member (an overlapping-member bomb multiplies one payload).
    one = member("xs.npy", small, 8)
    twin = dict(one, name=b"ys.npy", at=0)
    files["bomb_overlapping_members.npz"] = zipfile_bytes([one, twin])
    # (Members that are each under the cap but over it together are tested in HostileInputTests with a lowered
    # cap, to keep this corpus small.)

    # Truncations.
    good = npz([("xs", npy("(2, 3)", six)), ("ys", npy("(2,)", f8([0.5, -0.5])))])
    files["truncated_file.npz"] = good[: len(good) // 2]
    files["truncated_member_stored.npz"] = zipfile_bytes([member("xs.npy", small, 0, raw=small[:-16],
                                                                csize=len(small), size=len(small))])
    files["truncated_member_deflated.npz"] = zipfile_bytes([member("xs.npy", small, 8, raw=deflate(small)[:-12])])
    files["truncated_npy_data.npy"] = npy("(100,)", f8([1.0] * 10))
    files["truncated_npy_header.npy"] = npy("(2, 3)", six)[:40]
    files["truncated_magic.npy"] = b"\x93NUMP"
    files["truncated_npy_in_npz.npz"] = npz([("xs", npy("(2, 3)", six[:-8]))])
    files["truncated_central_directory.npz"] = zipfile_bytes([member("xs.npy", small)], entries=3)

    # Offsets and lengths that point past the end of the file, including a "negative" (top-bit) 32-bit size.
    files["offset_local_header_past_eof.npz"] = zipfile_bytes([member("xs.npy", small, offset=0x7FFFFFF0)])
    files["offset_central_directory_past_eof.npz"] = zipfile_bytes([member("xs.npy", small)],
                                                                   central_offset_shift=0x10000000)
    files["size_negative_seeming.npz"] = zipfile_bytes([member("xs.npy", small, csize=0xFFFFFFF0, size=0xFFFFFFF0)])
    files["size_zip64_sentinel.npz"] = zipfile_bytes([member("xs.npy", small, csize=0xFFFFFFFF, size=0xFFFFFFFF)])
    files["header_length_past_eof.npy"] = npy("(2, 3)", six, length=0xFFFF)
    files["header_length_huge_v2.npy"] = npy("(2, 3)", six, version=2, length=0x7FFFFFF0)

    # Other malformed archives.
    files["not_a_zip.npz"] = b"PK\x03\x04 but nothing else of a zip archive"
    files["crc_mismatch.npz"] = zipfile_bytes([member("xs.npy", small, crc=0xDEADBEEF)])
    files["method_bzip2.npz"] = zipfile_bytes([member("xs.npy", small, 12)])
    files["encrypted_member.npz"] = zipfile_bytes([member("xs.npy", small, flags=1)])
    files["duplicate_names.npz"] = npz([("xs", small), ("xs", small)])
    files["member_not_npy.npz"] = zipfile_bytes([member("xs.npy", b"PK not an npy at all")])

    # Wrong dtypes and malformed headers.
    files["dtype_complex128.npy"] = npy("(3,)", bytes(48), descr="<c16")
    files["dtype_object.npy"] = npy("(3,)", bytes(24), descr="|O")
    files["dtype_unicode.npy"] = npy("(3,)", bytes(48), descr="<U4")
    files["dtype_float16.npy"] = npy("(3,)", bytes(6), descr="<f2")
    files["dtype_structured.npy"] = npy("(3,)", bytes(24), header="{'descr': [('a', '<f8')], "
                                                                  "'fortran_order': False, 'shape': (3,), }")
    files["header_no_shape.npy"] = npy("(3,)", bytes(24), header="{'descr': '<f8', 'fortran_order': False, }")
    files["header_fortran_not_bool.npy"] = npy("(3,)", bytes(24), header="{'descr': '<f8', "
                                                                         "'fortran_order': 1, 'shape': (3,), }")
    files["version_9.npy"] = npy("(3,)", bytes(24), version=9)

    # Valid files: the reader must load these exactly (HostileInputTests holds the expected values).
    a = [0.0, 0.25, 0.5, 0.75, 1.0, 1.25]               # [[0, .25, .5], [.75, 1, 1.25]] in C order
    fortran = [a[0], a[3], a[1], a[4], a[2], a[5]]      # the same matrix, column-major
    files["valid_fortran_order.npy"] = npy("(2, 3)", f8(fortran), fortran=True)
    files["valid_fortran_rank3.npy"] = npy("(2, 3, 2)", f8([i * 6 % 11 for i in range(12)]), fortran=True)
    files["valid_big_endian.npy"] = npy("(2, 3)", f8(a, big=True), descr=">f8")
    files["valid_nan_inf.npy"] = npy("(4,)", f8([float("nan"), float("inf"), float("-inf"), -0.0]))
    files["valid_rank0.npy"] = npy("()", f8([7.5]))
    files["valid_empty_3x0x2.npy"] = npy("(3, 0, 2)")
    files["valid_version3_int16_big.npy"] = npy("(3,)", struct.pack(">3h", -2, 0, 300), descr=">i2", version=3)
    files["valid_prompt_with_nan.npz"] = npz([("xs", npy("(1, 2, 3)", six)),
                                              ("ys", npy("(1, 2)", f8([float("nan"), 1.0])))], method=8)

    for name, data in sorted(files.items()):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    total = sum(len(d) for d in files.values())
    print("wrote %d files, %d bytes, to %s" % (len(files), total, os.path.normpath(OUT)))


if __name__ == "__main__":
    main()
