# Global options reach the guest (env_and_limits.opts): --env sets exactly the given
# variables, and --memory-mb caps memory so a huge allocation is a MemoryError that
# Python can catch, after which the interpreter still works.
import os
print(sorted(os.environ.items()))
print(os.getenv("HOME"), os.getenv("PATH"))
try:
    block = bytearray(200 * 1024 * 1024)
except MemoryError:
    print("200 MiB allocation: MemoryError")
else:
    print("200 MiB allocation succeeded (limit not enforced!)", len(block))
small = bytearray(8 * 1024 * 1024)
print("8 MiB allocation afterwards:", len(small))
