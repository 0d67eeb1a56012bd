# raise SystemExit with various payloads: caught ones expose .code, the last one exits 3.
import sys
for payload in [(), (0,), (None,), ("text",), (5,)]:
    try:
        raise SystemExit(*payload)
    except SystemExit as e:
        print(payload, "->", repr(e.code))
raise SystemExit(3)
