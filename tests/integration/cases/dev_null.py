# /dev/null exists, as programs expect (os.devnull, pytest's logging plugin): it reads
# as empty, swallows writes, is a character device, and /dev takes nothing else.
import errno, os, stat

with open(os.devnull, "w") as f:
    print("wrote", f.write("discarded" * 1000))
print("read", repr(open(os.devnull).read()), repr(open(os.devnull, "rb").read(10)))
with open(os.devnull, "a+b") as f:
    f.write(b"x")
    f.seek(0)
    print("append then read", f.read(), f.tell())
st = os.stat(os.devnull)
print("chr", stat.S_ISCHR(st.st_mode), "reg", stat.S_ISREG(st.st_mode), "size", st.st_size)
print("/dev:", os.listdir("/dev"), "isatty", open(os.devnull).isatty())

def attempt(label, fn):
    try:
        fn()
    except OSError as e:
        print(label, type(e).__name__, errno.errorcode[e.errno])
    else:
        print(label, "ALLOWED")

attempt("create /dev/x", lambda: open("/dev/x", "w"))
attempt("mkdir /dev/d", lambda: os.mkdir("/dev/d"))
attempt("unlink /dev/null", lambda: os.unlink("/dev/null"))
attempt("rename /dev/null", lambda: os.rename("/dev/null", "/tmp/n"))
attempt("link /dev/null", lambda: os.link("/dev/null", "/tmp/n"))
attempt("listdir /dev/null", lambda: os.listdir("/dev/null"))
