# Extra command-line arguments (from argv_passing.args) arrive verbatim in sys.argv,
# including spaces, empty-looking flags and unicode.
import sys
for i, a in enumerate(sys.argv):
    print(i, repr(a))
import argparse
p = argparse.ArgumentParser(prog="tool")
p.add_argument("--count", type=int)
p.add_argument("words", nargs="*")
ns, rest = p.parse_known_args()
print(ns.count, ns.words, rest)
