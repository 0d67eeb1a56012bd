# Unbounded recursion becomes RecursionError (not a host stack overflow or trap), and the
# interpreter keeps working afterwards.
import sys
print("limit:", sys.getrecursionlimit())

def f():
    return f()

try:
    f()
except RecursionError as e:
    print(type(e).__name__, e)

def depth(n):
    return 0 if n == 0 else 1 + depth(n - 1)

print(depth(900))
sys.setrecursionlimit(200)
try:
    depth(500)
except RecursionError:
    print("lower limit enforced")
