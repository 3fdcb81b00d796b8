#!/usr/bin/env python3
"""Builds the seed corpora under fuzz/corpus/ from real captures: the kernel capture in
abi/tests/fixtures/ and the perf.data files (premap's and perf's) in tools/tests/fixtures/.
Run from anywhere: python3 fuzz/make_corpus.py (fuzz/smoke.sh runs it before fuzzing)."""
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

# perf_data also starts from the perf.data files of the wild kept beside the clone (perf 3.2-6.16,
# simpleperf, several architectures, damaged ones), when the folder is there; they are not copied
# into the repository. PREMAP_PERFDATA_CORPUS names another folder.
wild = os.environ.get("PREMAP_PERFDATA_CORPUS") or os.path.join(root, "..", "shared", "perfdata-corpus")
if os.path.isdir(wild):
    n = 0
    for name in sorted(os.listdir(wild)):
        path = os.path.join(wild, name)
        if name.endswith(".md") or not os.path.isfile(path):
            continue
        # A large file seeds its first 64 KiB (the header, attrs and first records; the cut is a
        # truncated stream, which the reader must take too): whole, it would slow every mutation.
        data = open(path, "rb").read()
        write("perf_data", "wild-" + name, data[:64 << 10])
        n += 1
    print(f"make_corpus: {n} perf.data seeds from {wild}")
else:
    print(f"make_corpus: no perf.data corpus at {wild} (perf_data starts from the fixtures only)")

# ring and driver_write: real record bytes as the attacker-controlled payload.
write("ring", "kernel-records", struct.pack("=QQB", len(records), 0, 0) + records[:4096])
write("ring", "kernel-records-overwrite", struct.pack("=QQB", 0, 0, 1) + records[:4096])
write("driver_write", "kernel-records", struct.pack("=QB", 0, 2) + records[:2048])

# trace_format: format files in the shapes tracefs writes (plain fields, dynamic strings, casts,
# ternaries with __print_flags and __print_symbolic), each followed by a NUL and raw data.
formats = {
    "wakeup": ("name: sched_wakeup\nID: 374\nformat:\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
               "\tfield:char comm[16];\toffset:8;\tsize:16;\tsigned:0;\n\tfield:pid_t pid;\toffset:24;\tsize:4;\tsigned:1;\n"
               "\tfield:int target_cpu;\toffset:28;\tsize:4;\tsigned:1;\n\n"
               "print fmt: \"comm=%s pid=%d target_cpu=%03d\", REC->comm, REC->pid, REC->target_cpu\n"),
    "exec": ("name: sched_process_exec\nID: 365\nformat:\n\tfield:__data_loc char[] filename;\toffset:8;\tsize:4;\tsigned:0;\n"
             "\tfield:pid_t pid;\toffset:12;\tsize:4;\tsigned:1;\n\tfield:unsigned long args[2];\toffset:16;\tsize:16;\tsigned:0;\n\n"
             "print fmt: \"filename=%s pid=%d a=%lx\", __get_str(filename), REC->pid, ((unsigned long)(REC->pid))\n"),
    "switch": ("name: sched_switch\nID: 372\nformat:\n\tfield:pid_t prev_pid;\toffset:8;\tsize:4;\tsigned:1;\n"
               "\tfield:long prev_state;\toffset:16;\tsize:8;\tsigned:1;\n\n"
               "print fmt: \"prev_pid=%d prev_state=%s%s x=%s\", REC->prev_pid, (REC->prev_state & ((((0x00000000 | 0x00000001 | 0x00000002) + 1) << 1) - 1)) ? "
               "__print_flags(REC->prev_state & 3, \"|\", { 0x00000001, \"S\" }, { 0x00000002, \"D\" }) : \"R\", REC->prev_state & 4 ? \"+\" : \"\", "
               "__print_symbolic(REC->prev_pid, { 0, \"zero\" }, { 1, \"one\" })\n"),
}
for name, text in formats.items():
    raw = bytearray(40)
    raw[8:12] = struct.pack("=I", (6 << 16) | 32)
    raw[24:28] = struct.pack("=i", 4242)
    raw[32:38] = b"/bin/\0"
    write("trace_format", name, text.encode() + b"\0" + bytes(raw))

