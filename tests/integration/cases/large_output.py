# 100,000 lines (about 2.1 MB, under the 4 MiB output cap of large_output.opts) must all
# arrive intact and in order. The golden is a digest of the bytes the host received
# (large_output.stdout-digest); the guest prints its own digest of what it wrote on
# stderr, so the two must agree.
import hashlib, sys
h = hashlib.sha256()
total = lines = 0

def emit(line):
    global total, lines
    h.update(line.encode())
    total += len(line)
    lines += 1
    sys.stdout.write(line)

for i in range(100_000):
    emit("line %06d %s\n" % (i, "x" * (i % 17)))
emit("END\n")
sys.stdout.flush()
print("lines=%d bytes=%d sha256=%s" % (lines, total, h.hexdigest()), file=sys.stderr)
