"""Collects a meson-built package's extension modules for static linking.

Meson builds every extension module as a shared module; wasm32-wasi has no
dlopen, so the guest links them all into pycell.wasm instead. In a shared
module each module's symbols are private; in one binary they all meet. So:
- byte-identical objects that several modules compile from the same source
  (numpy's lapack_lite f2c.c) are linked once;
- a module whose own objects define a symbol that another module or a shared
  static library also defines (numpy.random.mtrand's legacy copy of
  distributions.c) is recompiled with every such symbol renamed to a
  module-unique name, so each module binds to its own code as it would as a
  shared module. The same holds against the symbols of packages this one is
  linked beside (--external: its dependencies' collected output; pandas'
  vendored copy of numpy's datetime code). Never --allow-multiple-definition: the link fails on any
  clash left, and (--fatal-warnings) on any signature mismatch.
Writes OUT/modules.json: {"modules": [[dotted name, init symbol]], "objects":
[...], "archives": [...]} with paths inside OUT.
"""
import argparse
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys


def sh(cmd, cwd=None):
    return subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True).stdout


def defined_symbols(nm, path):
    """Strong global symbols defined by an object or any member of an archive.
    Weak ones (C++ inline functions, templates) may legitimately repeat."""
    out = sh([nm, "--defined-only", "--extern-only", "--format=posix", path])
    syms = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and not line.endswith(":") and parts[1] not in ("W", "V", "w", "v"):
            syms.add(parts[0])
    return syms


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build", required=True, help="meson build directory")
    ap.add_argument("--meson", required=True, help="meson command (shell words)")
    ap.add_argument("--nm", required=True)
    ap.add_argument("--ar", required=True)
    ap.add_argument("--skip", default="", help="comma-separated dotted module names to leave out")
    ap.add_argument("--external", action="append", default=[],
                    help="another package's collected output, whose symbols this one must not take")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    skip = {s for s in a.skip.split(",") if s}

    targets = json.loads(sh(shlex.split(a.meson) + ["introspect", "--targets", build]))
    commands = {c["output"]: c for c in json.load(open(os.path.join(build, "compile_commands.json")))}
    modules, names = [], set()  # modules: (dotted, [objects], [archives])
    for t in targets:
        if t["type"] != "shared module" or not t.get("installed"):
            continue
        rel = t["install_filename"][0].split("/site-packages/", 1)[1]
        dotted = rel.split(".", 1)[0].replace("/", ".")
        names.add(dotted)
        if dotted in skip:
            continue
        so = os.path.relpath(t["filename"][0], build)
        link = sh(["ninja", "-C", build, "-t", "commands", "-s", so]).strip().splitlines()[-1]
        words = shlex.split(link)
        modules.append((dotted, [w for w in words if w.endswith(".o")],
                        [w for w in words if w.endswith(".a")]))
    if not modules:
        sys.exit("collect: no extension modules found")
    if skip - names:
        sys.exit(f"collect: --skip names no module: {sorted(skip - names)}")

    # Identical objects are one object.
    by_hash, canon = {}, {}
    for _, objs, _ in modules:
        for o in objs:
            h = sha256(os.path.join(build, o))
            canon[o] = by_hash.setdefault(h, o)
    archives = list(dict.fromkeys(ar for _, _, ars in modules for ar in ars))
    symbols = {o: defined_symbols(a.nm, os.path.join(build, o)) for o in set(canon.values())}
    archive_syms = set()
    for ar in archives:
        archive_syms |= defined_symbols(a.nm, os.path.join(build, ar))
    for ext in a.external:
        with open(os.path.join(ext, "modules.json")) as f:
            m = json.load(f)
        for p in m["objects"] + m["archives"]:
            archive_syms |= defined_symbols(a.nm, os.path.join(ext, p))

    shutil.rmtree(a.out, ignore_errors=True)
    os.makedirs(a.out)
    result = {"modules": [], "objects": [], "archives": []}
    seen_objects = set()
    for dotted, objs, _ in modules:
        mine = {canon[o] for o in objs}
        own = set().union(*(symbols[o] for o in mine))
        others = set(archive_syms)
        for d2, objs2, _ in modules:
            if d2 != dotted:
                others |= set().union(*(symbols[canon[o]] for o in objs2 if canon[o] not in mine))
        clash = sorted(own & others)
        init = "PyInit_" + dotted.rsplit(".", 1)[-1]
        if init not in own:
            sys.exit(f"collect: {dotted} defines no {init}")
        if clash:
            cxx = [s for s in clash if s.startswith("_Z")]
            if cxx:
                sys.exit(f"collect: {dotted} clashes on C++ symbols (cannot rename): {cxx[:5]}")
            shared = [o for o in objs for d2, objs2, _ in modules
                      if d2 != dotted and canon[o] in {canon[x] for x in objs2}]
            if shared:  # its private copy would clash with the shared one
                sys.exit(f"collect: {dotted} needs renames but shares objects with other modules: {shared[:3]}")
            prefix = "pycell_" + dotted.replace(".", "_") + "__"
            print(f"collect: {dotted}: renaming {len(clash)} clashing symbols", file=sys.stderr)
            mdir = os.path.join(a.out, dotted)
            os.makedirs(mdir)
            header = os.path.join(mdir, "rename.h")
            with open(header, "w") as f:
                f.write("".join(f"#define {s} {prefix}{s}\n" for s in clash))
            new_objs = []
            for o in objs:
                c = commands[o]
                out = os.path.join(mdir, os.path.basename(o))
                words = shlex.split(c["command"])
                i = words.index("-o")
                words[i + 1] = out
                words = [w for w in words if w not in ("-MD",)]
                # drop the depfile options (-MQ x -MF y) that name meson's paths
                cleaned, skipnext = [], False
                for w in words:
                    if skipnext:
                        skipnext = False
                        continue
                    if w in ("-MQ", "-MF"):
                        skipnext = True
                        continue
                    cleaned.append(w)
                r = subprocess.run(cleaned + ["-include", header], cwd=c["directory"],
                                   capture_output=True, text=True)
                if r.returncode != 0:
                    sys.exit(f"collect: recompiling {o} failed:\n{r.stderr}")
                new_objs.append(out)
            if init in clash:
                init = prefix + init
            result["objects"] += [os.path.relpath(p, a.out) for p in new_objs]
        else:
            for o in objs:
                o = canon[o]
                if o in seen_objects:
                    continue
                seen_objects.add(o)
                dst = os.path.join(a.out, "obj", o)
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                shutil.copyfile(os.path.join(build, o), dst)
                result["objects"].append(os.path.relpath(dst, a.out))
        result["modules"].append([dotted, init])
    for ar in archives:
        dst = os.path.join(a.out, "lib", ar)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        src = os.path.join(build, ar)
        with open(src, "rb") as f:
            thin = f.read(8) == b"!<thin>\n"
        if thin:  # members live in meson's build tree: make a self-contained archive
            members = [os.path.join(build, m) for m in sh([a.ar, "t", ar], cwd=build).split()]
            sh([a.ar, "rcs", dst] + members)
        else:
            shutil.copyfile(src, dst)
        result["archives"].append(os.path.relpath(dst, a.out))
    with open(os.path.join(a.out, "modules.json"), "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
    print(f"collect: {len(result['modules'])} modules, {len(result['objects'])} objects, "
          f"{len(result['archives'])} archives", file=sys.stderr)


if __name__ == "__main__":
    main()
