# Plain print to stdout, including sep/end handling and an explicit flush.
print("hello from the cell")
print(1, 2.5, None, True, [1, "a"], {"k": (1,)}, sep=" | ")
print("no newline", end="")
print(" ...continued", flush=True)
print()
print(repr("quote'and\"tab\t"))
