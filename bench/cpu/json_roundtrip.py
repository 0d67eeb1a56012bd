# JSON workload: dumps/loads round trips of a nested document (exercises the _json accelerator
# plus float repr/parse). Named json_roundtrip so it cannot shadow the stdlib json module.
import json
import sys

SCALE = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0


def lcg(seed):
    # Own generator rather than random: identical on every runtime and imports nothing.
    while True:
        seed = (seed * 6364136223846793005 + 1442695040888963407) & (2**64 - 1)
        yield seed >> 33


rng = lcg(7)
doc = {
    "users": [
        {
            "id": i,
            "name": f"user{next(rng) % 100000}",
            "score": (next(rng) % 1000000) / 997.0,
            "active": next(rng) % 2 == 0,
            "tags": [f"t{next(rng) % 50}" for _ in range(next(rng) % 6)],
            "bio": "caf\u00e9 \u2603 \"quoted\"\n" * (next(rng) % 3),
            "nested": {"a": [1, 2.5, None, True], "b": {"c": "d" * (next(rng) % 20)}},
        }
        for i in range(2000)
    ]
}


# In a function so the loop uses fast locals, as real code does.
def main():
    total = 0
    for _ in range(max(1, int(170 * SCALE))):
        text = json.dumps(doc)
        back = json.loads(text)
        pretty = json.dumps(back, indent=1, sort_keys=True, ensure_ascii=False)
        total += len(text) + len(pretty) + len(back["users"])
    assert back == doc
    print(f"json checksum {total} {len(text)}")


main()
