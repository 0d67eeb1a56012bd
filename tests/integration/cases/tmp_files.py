# The guest's private /tmp: write, read back, list, rename, remove; cwd is /tmp.
import os
print("cwd:", os.getcwd())
print("initial /tmp:", sorted(os.listdir("/tmp")))
with open("notes.txt", "w", encoding="utf-8") as f:
    f.write("line one\nline two ✓\n")
os.mkdir("/tmp/sub")
with open("/tmp/sub/data.bin", "wb") as f:
    f.write(bytes(range(256)) * 4)
print("listing:", sorted(os.listdir(".")))
with open("/tmp/notes.txt", encoding="utf-8") as f:
    print("read:", f.read().splitlines())
print("size:", os.path.getsize("sub/data.bin"), os.stat("notes.txt").st_size)
with open("notes.txt", "a") as f:
    f.write("appended\n")
with open("notes.txt") as f:
    print("after append:", len(f.readlines()), "lines")
os.rename("notes.txt", "sub/moved.txt")
print("sub:", sorted(os.listdir("sub")))
for root, dirs, files in os.walk("/tmp"):
    print("walk:", root, sorted(dirs), sorted(files))
os.remove("sub/moved.txt")
os.remove("sub/data.bin")
os.rmdir("sub")
print("final /tmp:", sorted(os.listdir("/tmp")))
try:
    open("/tmp/missing.txt")
except FileNotFoundError as e:
    print("missing:", type(e).__name__, e.errno == __import__("errno").ENOENT)
import tempfile
with tempfile.TemporaryDirectory() as d:
    p = os.path.join(d, "t")
    with open(p, "w") as f:
        f.write("x")
    print("tempdir under /tmp:", d.startswith("/tmp/"), os.listdir(d))
print("tempdir cleaned:", os.listdir("/tmp"))
