# Recursion workload: naive fib stresses Python-level calls and frame setup.
import sys

SCALE = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


# Repeat a fixed fib(27) instead of growing n so --scale stays linear in time.
total = 0
for _ in range(max(1, int(120 * SCALE))):
    total += fib(27)
print(f"fib checksum {total}")
