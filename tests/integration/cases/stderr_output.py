# Writes go to the right stream: stdout and stderr are compared separately.
import sys
print("to stdout")
print("to stderr", file=sys.stderr)
sys.stderr.write("raw stderr write\n")
sys.stdout.write("raw stdout write\n")
print("stderr is a tty:", sys.stderr.isatty(), file=sys.stderr)
