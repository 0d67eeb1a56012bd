# Dict workload: insert/lookup/delete churn with int and str keys. The checksum uses only
# values and insertion order, never hash() or set order, so PYTHONHASHSEED cannot change it.
import sys

SCALE = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0


# In a function so the loop uses fast locals, as real code does.
def main():
    total = 0
    for rnd in range(max(1, int(32 * SCALE))):
        d = {}
        for i in range(100000):
            d[i * 7919 % 1000003] = i
        skeys = {}
        for i in range(50000):
            skeys[f"k{i}"] = i
        hits = 0
        for i in range(200000):
            if (i * 31 % 1000003) in d:
                hits += 1
            hits += skeys.get(f"k{i % 60000}", -1)
        for i in range(0, 100000, 2):
            del d[i * 7919 % 1000003]
        for i in range(0, 50000, 3):
            skeys.pop(f"k{i}")
        for k in list(d)[:1000]:
            d[k] += 1
        total += hits + len(d) + len(skeys) + sum(d.values()) + next(iter(skeys.values()))
    print(f"dict_churn checksum {total}")


main()
