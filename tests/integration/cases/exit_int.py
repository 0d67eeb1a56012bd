# sys.exit(n) sets the process status and still flushes buffered output and runs finally.
import sys
print("before exit")
try:
    sys.exit(42)
finally:
    print("finally runs")
