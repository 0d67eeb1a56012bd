# The guest's working directory is /tmp, and the guest sees only /tmp, the stdlib and /dev/null.
import os, sys
print(os.getcwd())
print(os.path.abspath("x.txt"))
print(sorted(os.listdir("/")))
print(sys.prefix, sys.platform)
print(os.path.isdir("/usr/local/lib/python3.13"))
for path in ["/etc/passwd", "/home", "/proc/self", "/work", "/root"]:
    print(path, os.path.exists(path))
print("env:", sorted(k for k in os.environ if not k.startswith("PYTHON")))
