#!/usr/bin/env python3
"""Builds the seed corpora under fuzz/corpus/ from real captures: the kernel capture in
abi/tests/fixtures/ and the perf.data files (premap's and perf's) in tools/tests/fixtures/.
Run from the repository root: python3 fuzz/make_corpus.py"""
import os
import struct

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
corpus = os.path.join(root, "fuzz", "corpus")


def write(target, name, data):
    os.makedirs(os.path.join(corpus, target), exist_ok=True)
    with open(os.path.join(corpus, target, name), "wb") as f:
        f.write(data)


cap = open(os.path.join(root, "abi/tests/fixtures/exec-true.bin"), "rb").read()
attr_len = struct.unpack_from("=Q", cap, 8)[0]
attr = cap[16:16 + attr_len]
sample_type, read_format, flags = struct.unpack_from("=QQQ", attr, 24)
data_len = struct.unpack_from("=Q", cap, 16 + attr_len)[0]
records = cap[24 + attr_len:24 + attr_len + data_len]
sample_id_all = 1 if flags & (1 << 18) else 0

# records: the arbitrary struct's fixed fields, then the stream (the last field takes the rest).
for i, split in enumerate([0, 1000, 4096, 5000]):
    head = struct.pack("=QQBQQQH", sample_type, read_format, sample_id_all, 0, 0, 0, split)
    write("records", f"kernel-exec-true-{i}", head + records)
# the same stream cut into single records, with and without the trailer flag
off = 0
n = 0
while off + 8 <= len(records) and n < 12:
    size = struct.unpack_from("=H", records, off + 6)[0]
    if size == 0:
        break
    head = struct.pack("=QQBQQQH", sample_type, read_format, sample_id_all, 0, 0, 0, size // 2)
    write("records", f"kernel-record-{n}", head + records[off:off + size])
    off += size
    n += 1

for name in ["premap-touch8.data", "perf-touch8.data", "perf-pipe-touch8.data"]:
    write("perf_data", name, open(os.path.join(root, "tools/tests/fixtures", name), "rb").read())

# ring and driver_write: real record bytes as the attacker-controlled payload.
write("ring", "kernel-records", struct.pack("=QQB", len(records), 0, 0) + records[:4096])
write("ring", "kernel-records-overwrite", struct.pack("=QQB", 0, 0, 1) + records[:4096])
write("driver_write", "kernel-records", struct.pack("=QB", 0, 2) + records[:2048])
