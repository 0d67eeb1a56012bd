# String-building workload: join, += concatenation, f-strings, %-format and str.format.
import sys

SCALE = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0


# In a function so the loop uses fast locals, as real code does.
def main():
    total = 0
    for rnd in range(max(1, int(130 * SCALE))):
        parts = [f"{i}:{i * 7 % 13:x}:{i / 3:.3f}" for i in range(20000)]
        joined = ",".join(parts)
        s = ""
        for i in range(20000):
            s += "%d-%s;" % (i, "ab"[i & 1])
        fmt = "".join("{:>8}|{:<5}|{:08.2f}\n".format(i, rnd, i * 0.5) for i in range(10000))
        up = joined.upper().replace("A", "Z").split(",")
        total += len(joined) + len(s) + len(fmt) + len(up) + joined.count("7")
    print(f"strbuild checksum {total}")


main()
