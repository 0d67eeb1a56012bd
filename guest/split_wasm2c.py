"""Splits wasm2c 1.0.32's single C file into parts that compile in parallel.

wasm2c writes one file: a prelude (runtime helpers, the func_types table), the
declarations of every function (static), the module's data and init code,
every function definition (static), then the exported wrappers. One gcc on
170+ MB takes many minutes and gigabytes. This writes:
  common.h  the prelude and the declarations, with the functions made
            non-static but hidden (so parts call each other directly, and
            `objcopy --localize-hidden` on the combined object leaves no new
            global symbol), and func_types made extern (and hidden too);
  part0.c   func_types, data, init code and exports (everything not a function
            body);
  partN.c   the function definitions, balanced by size over N files.
Function names are wasm2c's own (w2c_<name>, unique within the module).
"""
import os
import re
import sys

# A function's first line (its signature may continue on indented lines).
FUNC = re.compile(r"^static .*\bw2c_\w+\(")
FUNC_TYPES = re.compile(r"^static u32 func_types\[(\d+)\];$")
HIDDEN = '__attribute__((visibility("hidden"))) '


def main():
    src, outdir, nparts = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(src) as f:
        lines = f.read().split("\n")

    decl_start = next(i for i, l in enumerate(lines) if FUNC.match(l))
    ft = next(i for i, l in enumerate(lines[:decl_start]) if FUNC_TYPES.match(l))
    init_start = lines.index("static void init_globals(Z_pycell_instance_t* instance) {")
    def_start = next(i for i in range(init_start, len(lines)) if FUNC.match(lines[i]))

    # Function definitions: from a FUNC line to the next top-level "}".
    funcs, i = [], def_start
    while i < len(lines):
        if not lines[i]:
            i += 1
            continue
        if not FUNC.match(lines[i]):
            break
        j = lines.index("}", i)
        funcs.append([HIDDEN + lines[i][len("static "):]] + lines[i + 1:j + 1])
        i = j + 1
    def_end = i
    if any(FUNC.match(l) for l in lines[def_end:]):
        sys.exit("split_wasm2c: function definitions after the exports; unknown layout")
    if any(FUNC.match(l) for l in lines[init_start:def_start]):
        sys.exit("split_wasm2c: functions among the data; unknown layout")

    os.makedirs(outdir, exist_ok=True)
    header = lines[:ft] + [f"extern {HIDDEN}u32 func_types[{FUNC_TYPES.match(lines[ft]).group(1)}];"]
    # What sits between func_types and the declarations (s_module_initialized,
    # init_func_types) is used only by the init code: it stays in part0.
    header += [HIDDEN + l[len("static "):] if FUNC.match(l) else l
               for l in lines[decl_start:init_start]]
    with open(os.path.join(outdir, "common.h"), "w") as f:
        f.write("\n".join(header) + "\n")

    inc = '#include "common.h"'
    part0 = [inc, lines[ft].replace("static ", "", 1)] + lines[ft + 1:decl_start] \
        + lines[init_start:def_start] + lines[def_end:]
    with open(os.path.join(outdir, "part0.c"), "w") as f:
        f.write("\n".join(part0) + "\n")

    total = sum(len(l) for fn in funcs for l in fn)
    per, part, size, out = total / nparts, 1, 0, None
    for fn in funcs:
        if out is None or (size >= per * part and part < nparts):
            if out:
                out.close()
                part += 1
            out = open(os.path.join(outdir, f"part{part}.c"), "w")
            out.write(inc + "\n")
        out.write("\n".join(fn) + "\n\n")
        size += sum(len(l) for l in fn)
    out.close()
    print(f"split_wasm2c: {len(funcs)} functions into {part} parts + part0", file=sys.stderr)


if __name__ == "__main__":
    main()
