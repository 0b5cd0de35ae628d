#!/usr/bin/env bash
# Re-makes the fuzzers' seed corpus under Tests/Fixtures/fuzz/<harness>/: a few small valid files
# per reader (each well under 20 KB). The files written by Python follow each format's layout;
# the model, the .bnz and the search indexes are made by the release CLI ($BN, built if missing),
# so they are exactly what users pass around.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=Tests/Fixtures/fuzz
BN=${BN:-.build/release/bottleneck}
[ -x "$BN" ] || swift build -c release --product bottleneck
for h in idx idx-gz npy csv image safetensors model architecture bnz search-index; do
    rm -rf "${OUT:?}/$h"; mkdir -p "$OUT/$h"
done
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT

python3 - "$OUT" "$WORK" <<'PY'
import gzip, json, struct, sys, zlib
out, work = sys.argv[1], sys.argv[2]
def write(path, data):
    with open(path, "wb") as f: f.write(data)

# IDX: magic 0 0 <type> <rank>, big-endian u32 sizes, then the values.
def idx(type_code, fmt, dims, values):
    body = struct.pack(">" + fmt * len(values), *values)
    return bytes([0, 0, type_code, len(dims)]) + struct.pack(">%dI" % len(dims), *dims) + body
images = idx(0x08, "B", [4, 5, 5], [(i * 37) % 256 for i in range(100)])
labels = idx(0x08, "B", [4], [0, 1, 2, 1])
floats = idx(0x0D, "f", [3, 4], [i / 7 for i in range(12)])
ints = idx(0x0C, "i", [2, 3], [-3, 0, 7, 1 << 20, 5, -1])
for name, data in [("images-4x5x5", images), ("labels-4", labels), ("float-3x4", floats), ("int-2x3", ints)]:
    write(f"{out}/idx/{name}.idx", data)
    write(f"{out}/idx-gz/{name}.idx.gz", gzip.compress(data, mtime=0))

# NPY version 1.0 (and one 2.0): magic, header length, a Python-dict header padded to 64 bytes.
def npy(descr, shape, payload, fortran=False, version=1):
    header = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, repr(tuple(shape)))
    prefix = 10 if version == 1 else 12
    pad = 64 - (prefix + len(header) + 1) % 64
    header = (header + " " * pad + "\n").encode()
    size = struct.pack("<H", len(header)) if version == 1 else struct.pack("<I", len(header))
    return b"\x93NUMPY" + bytes([version, 0]) + size + header + payload
write(f"{out}/npy/f32-3x4.npy", npy("<f4", [3, 4], struct.pack("<12f", *[i * 0.5 for i in range(12)])))
write(f"{out}/npy/f64-2x2.npy", npy("<f8", [2, 2], struct.pack("<4d", 1, -2, 3.5, 0)))
write(f"{out}/npy/u8-2x3x3.npy", npy("|u1", [2, 3, 3], bytes(range(18))))
write(f"{out}/npy/i64-labels.npy", npy("<i8", [4], struct.pack("<4q", 0, 1, 2, 1)))
write(f"{out}/npy/i32-2x2.npy", npy("<i4", [2, 2], struct.pack("<4i", 1, 2, -3, 4)))
write(f"{out}/npy/f32-big-endian.npy", npy(">f4", [2], struct.pack(">2f", 1.5, -2)))
write(f"{out}/npy/f32-fortran.npy", npy("<f4", [2, 3], struct.pack("<6f", *range(6)), fortran=True))
write(f"{out}/npy/f32-v2.npy", npy("<f4", [2], struct.pack("<2f", 3, 4), version=2))

# CSV: header or not, delimiters, quotes, text and integer labels, CRLF.
csvs = {
    "header.csv": "a,b,c,d\n1,2,3,4\n5,6,7,8\n0.5,-1e-3,2,9\n",
    "no-header.csv": "1,2,3\n4,5,6\n7,8,9\n",
    "label-text.csv": "label,x1,x2\ncat,0.1,0.2\ndog,0.3,0.4\ncat,0.5,0.6\n",
    "label-int.csv": "3,0.1,0.2\n1,0.3,0.4\n0,0.5,0.6\n",
    "semicolon.csv": "x;y;z\n1,5;2;3\n4;5;6\n",
    "tab.tsv": "x\ty\n1\t2\n3\t4\n",
    "quoted.csv": '"name, with comma","b ""quoted"""\n1,2\n3,4\n',
    "crlf.csv": "a,b\r\n1,2\r\n3,4\r\n",
}
for name, text in csvs.items(): write(f"{out}/csv/{name}", text.encode())

# PNG: signature, IHDR, one zlib IDAT (filter byte 0 per row), IEND.
def png(width, height, color_type, channels, bit_depth=8, interlace=0):
    def chunk(kind, body): return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    rows = b"".join(b"\0" + bytes((x * 40 + y * 30 + c * 60) % 256 for x in range(width) for c in range(channels)) for y in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, interlace)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")
write(f"{out}/image/gray-6x5.png", png(6, 5, 0, 1))
write(f"{out}/image/rgb-4x3.png", png(4, 3, 2, 3))
write(f"{out}/image/rgba-3x3.png", png(3, 3, 6, 4))

# Baseline JPEG, flat blocks: one-symbol Huffman tables (DC category 0, AC end-of-block), so each
# 8x8 block of each component is the two bits "00"; the rest of the last byte is 1s.
def jpeg(width, height, components):
    def seg(marker, body): return b"\xff" + bytes([marker]) + struct.pack(">H", len(body) + 2) + body
    ids = range(1, components + 1)
    blocks = ((width + 7) // 8) * ((height + 7) // 8) * components
    bits = "00" * blocks
    bits += "1" * (-len(bits) % 8)
    scan = bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8))
    table = bytes([1] + [0] * 15 + [0])
    return (b"\xff\xd8" + seg(0xDB, b"\0" + bytes([1] * 64))
            + seg(0xC0, struct.pack(">BHHB", 8, height, width, components) + b"".join(bytes([i, 0x11, 0]) for i in ids))
            + seg(0xC4, b"\x00" + table + b"\x10" + table)
            + seg(0xDA, bytes([components]) + b"".join(bytes([i, 0]) for i in ids) + b"\x00\x3f\x00")
            + scan + b"\xff\xd9")
write(f"{out}/image/gray-8x8.jpg", jpeg(8, 8, 1))
write(f"{out}/image/gray-16x8.jpg", jpeg(16, 8, 1))
write(f"{out}/image/rgb-8x8.jpg", jpeg(8, 8, 3))

# safetensors: u64 header length, JSON header (dtype, shape, data_offsets, __metadata__), data.
def safetensors(tensors, metadata):
    header, data = {}, b""
    for name, dtype, shape, payload in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(payload)]}
        data += payload
    if metadata: header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data
write(f"{out}/safetensors/f32.safetensors", safetensors([("w", "F32", [2, 3], struct.pack("<6f", *range(6))),
                                                          ("b", "F32", [3], struct.pack("<3f", 1, 2, 3))], {"format": "pt"}))
write(f"{out}/safetensors/mixed.safetensors", safetensors([("a", "F64", [2], struct.pack("<2d", 1, 2)),
                                                            ("i", "I64", [1], struct.pack("<q", 7)),
                                                            ("u", "U8", [4], bytes([1, 2, 3, 4])),
                                                            ("s", "F32", [], struct.pack("<f", 9))], None))
write(f"{out}/safetensors/empty.safetensors", safetensors([], {"note": "no tensors"}))

# The README's architecture example.
write(f"{out}/architecture/readme-small-conv.json", json.dumps({
    "name": "small-conv",
    "encoder": [{"type": "conv2d", "out": 8, "kernel": 3, "stride": 2, "padding": 1}, {"type": "relu"},
                {"type": "flatten"}, {"type": "linear", "out": 16}],
    "decoder": [{"type": "linear", "out": 1568}, {"type": "relu"}, {"type": "unflatten", "shape": [8, 14, 14]},
                {"type": "conv_transpose2d", "out": 1, "kernel": 3, "stride": 2, "padding": 1, "output_padding": 1},
                {"type": "sigmoid"}]}).encode())

# The tiny table the CLI trains on.
write(f"{work}/train.csv", ("f1,f2,f3,f4,f5,f6\n" + "".join(
    ",".join("%.3f" % (((r * 7 + c * 3) % 11) / 10) for c in range(6)) + "\n" for r in range(24))).encode())
PY


# Architectures as the CLI prints them.
"$BN" summary --preset dense --input-shape 6 --code-size 2 --print-json > "$OUT/architecture/dense-6.json"
"$BN" summary --preset conv --print-json > "$OUT/architecture/conv-1x28x28.json"

# A model trained for one epoch, the files made from it, and indexes.
"$BN" train --preset dense --code-size 2 --data "$WORK/train.csv" --epochs 1 --output "$WORK/dense.safetensors" >/dev/null
cp "$WORK/dense.safetensors" "$OUT/model/dense-6.safetensors"
cp "$WORK/dense.safetensors" "$OUT/safetensors/model-dense-6.safetensors"
"$BN" compress --model "$WORK/dense.safetensors" --data "$WORK/train.csv" --output "$OUT/bnz/dense-6.bnz" >/dev/null
"$BN" index --model "$WORK/dense.safetensors" --data "$WORK/train.csv" --output "$OUT/search-index/model.safetensors" >/dev/null
"$BN" index --raw --data "$WORK/train.csv" --output "$OUT/search-index/raw.safetensors" >/dev/null
"$BN" index --pca 2 --data "$WORK/train.csv" --metric cosine --output "$OUT/search-index/pca.safetensors" >/dev/null

find "$OUT" -type f -size +20k -print | sed 's/^/fuzz-corpus: over 20 KB: /' >&2
echo "fuzz-corpus: $(find "$OUT" -type f -not -path '*/dict/*' | wc -l) seed files under $OUT"
