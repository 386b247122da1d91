#!/usr/bin/env python3
"""Write the seed corpus of the DICOM fuzz target (t/fuzz/corpus/): small
files in every syntax the parser reads, with defined and undefined lengths,
nested and UN sequences, encapsulated pixels, a raw dataset, and broken
variants.  Standard library only; the output is deterministic."""
import os
import struct
import sys
import zlib

LONG = {b"OB", b"OW", b"SQ", b"UN", b"UT", b"OF", b"OD", b"OL", b"UC", b"UR"}


def el(g, e, vr, val, be=False, implicit=False):
    if len(val) % 2:
        val += b"\0" if vr in (b"UI", b"OB") else b" "
    o = ">" if be else "<"
    tag = struct.pack(o + "HH", g, e)
    if implicit:
        return tag + struct.pack(o + "I", len(val)) + val
    if vr in LONG:
        return tag + vr + b"\0\0" + struct.pack(o + "I", len(val)) + val
    return tag + vr + struct.pack(o + "H", len(val)) + val


def item(body, undefined=False, be=False):
    o = ">" if be else "<"
    if undefined:
        return struct.pack(o + "HHI", 0xFFFE, 0xE000, 0xFFFFFFFF) + body + \
            struct.pack(o + "HHI", 0xFFFE, 0xE00D, 0)
    return struct.pack(o + "HHI", 0xFFFE, 0xE000, len(body)) + body


def seq(g, e, items, undefined=False, be=False, implicit=False, vr=b"SQ"):
    o = ">" if be else "<"
    body = b"".join(items)
    tag = struct.pack(o + "HH", g, e)
    if undefined:
        n = struct.pack(o + "I", 0xFFFFFFFF)
        end = struct.pack(o + "HHI", 0xFFFE, 0xE0DD, 0)
        return tag + (n if implicit else vr + b"\0\0" + n) + body + end
    return tag + (struct.pack(o + "I", len(body)) if implicit else
                  vr + b"\0\0" + struct.pack(o + "I", len(body))) + body


def meta(ts):
    m = el(2, 1, b"OB", b"\0\1") + el(2, 2, b"UI", b"1.2.840.10008.5.1.4.1.1.128") + \
        el(2, 3, b"UI", b"1.2.3") + el(2, 0x10, b"UI", ts)
    return b"\0" * 128 + b"DICM" + el(2, 0, b"UL", struct.pack("<I", len(m))) + m


def dataset(be=False, implicit=False, undefined=False):
    k = dict(be=be, implicit=implicit)
    o = ">" if be else "<"
    rp = el(0x18, 0x1072, b"TM", b"100000", **k) + el(0x18, 0x1074, b"DS", b"3.7e8", **k)
    d = el(8, 0x60, b"CS", b"PT", **k) + el(0x10, 0x1030, b"DS", b"70", **k)
    d += el(0x20, 0xE, b"UI", b"1.2.3.4", **k)
    d += el(0x20, 0x32, b"DS", b"0\\0\\0", **k) + el(0x20, 0x37, b"DS", b"1\\0\\0\\0\\1\\0", **k)
    d += el(0x28, 0x10, b"US", struct.pack(o + "H", 2), **k)
    d += el(0x28, 0x11, b"US", struct.pack(o + "H", 2), **k)
    d += el(0x28, 0x100, b"US", struct.pack(o + "H", 16), **k)
    d += seq(0x54, 0x16, [item(rp, undefined, be)], undefined, be, implicit)
    d += el(0x7FE0, 0x10, b"OW", struct.pack(o + "4h", 1, -2, 3, -4), **k)
    return d


def main(out):
    os.makedirs(out, exist_ok=True)
    seeds = {
        "explicit-le.dcm": meta(b"1.2.840.10008.1.2.1") + dataset(),
        "explicit-le-undef.dcm": meta(b"1.2.840.10008.1.2.1") + dataset(undefined=True),
        "implicit-le.dcm": meta(b"1.2.840.10008.1.2") + dataset(implicit=True),
        "implicit-le-undef.dcm": meta(b"1.2.840.10008.1.2") + dataset(implicit=True, undefined=True),
        "explicit-be.dcm": meta(b"1.2.840.10008.1.2.2") + dataset(be=True),
        "raw-dataset.dcm": dataset(),
        "raw-implicit.dcm": dataset(implicit=True),
    }
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    seeds["deflated.dcm"] = meta(b"1.2.840.10008.1.2.1.99") + comp.compress(dataset()) + comp.flush()
    frag = struct.pack("<HHI", 0xFFFE, 0xE000, 0) + struct.pack("<HHI", 0xFFFE, 0xE000, 4) + b"\1\2\3\4"
    enc = struct.pack("<HH", 0x7FE0, 0x10) + b"OB\0\0" + struct.pack("<I", 0xFFFFFFFF) + frag + \
        struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
    seeds["encapsulated-rle.dcm"] = meta(b"1.2.840.10008.1.2.5") + el(8, 0x60, b"CS", b"MR") + enc
    un = item(el(0x29, 0x1001, b"LO", b"x", implicit=True))
    seeds["un-sequence.dcm"] = meta(b"1.2.840.10008.1.2.1") + \
        seq(0x29, 0x1010, [un], undefined=True, vr=b"UN") + el(8, 0x60, b"CS", b"CT")
    nested = item(seq(0x3006, 0x40, [item(el(0x3006, 0x50, b"DS", b"1\\2\\3\\4\\5\\6\\7\\8\\9"))]))
    seeds["nested.dcm"] = meta(b"1.2.840.10008.1.2.1") + seq(0x3006, 0x39, [nested, nested])
    good = seeds["explicit-le.dcm"]
    seeds["truncated.dcm"] = good[: len(good) - 5]
    seeds["bad-length.dcm"] = good[:200] + b"\xff\xff\xff\x7f" + good[204:]
    seeds["no-delimiter.dcm"] = seeds["explicit-le-undef.dcm"][:-28]
    for name, data in sorted(seeds.items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus"))
