# sys.exit("message") prints the message on stderr and exits 1.
import sys
print("partial output")
sys.exit("fatal: configuration missing")
