# The stdlib is readable but read-only: every way of writing to it fails with EROFS.
import errno, os, textwrap
path = textwrap.__file__
print(path)
with open(path, encoding="utf-8") as f:
    head = f.read()
print(head.splitlines()[0])
print("defines TextWrapper:", "class TextWrapper" in head)

def attempt(label, fn):
    try:
        fn()
    except OSError as e:
        print(label, "->", type(e).__name__, errno.errorcode[e.errno])
    else:
        print(label, "-> succeeded (sandbox bug!)")

attempt("open for write", lambda: open(path, "w"))
attempt("open for append", lambda: open(path, "a"))
attempt("create new file", lambda: open(os.path.join(os.path.dirname(path), "new.py"), "x"))
attempt("remove", lambda: os.remove(path))
attempt("mkdir", lambda: os.mkdir(os.path.join(os.path.dirname(path), "newdir")))
attempt("rename", lambda: os.rename(path, path + ".bak"))
with open(path, encoding="utf-8") as f:
    print("unchanged:", f.read() == head)
