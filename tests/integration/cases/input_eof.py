# Guest stdin is empty: input() raises EOFError and sys.stdin reads return "".
import sys
print(repr(sys.stdin.read()))
print(repr(sys.stdin.readline()))
try:
    input("prompt> ")
except EOFError as e:
    print("\nEOFError:", e)
input()
