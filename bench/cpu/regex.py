# Regex workload: re.findall/sub/split over generated log-like text (exercises _sre).
import re
import sys

SCALE = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0


def lcg(seed):
    # Own generator rather than random: identical on every runtime and imports nothing.
    while True:
        seed = (seed * 6364136223846793005 + 1442695040888963407) & (2**64 - 1)
        yield seed >> 33


rng = lcg(11)
WORDS = ["alpha", "beta", "gamma", "delta", "error", "warn", "info", "user", "host", "path"]
lines = []
for i in range(20000):
    w = [WORDS[next(rng) % len(WORDS)] for _ in range(6)]
    ip = ".".join(str(next(rng) % 256) for _ in range(4))
    lines.append(
        f"2024-{next(rng) % 12 + 1:02d}-{next(rng) % 28 + 1:02d} {ip} {' '.join(w)} "
        f"id={next(rng) % 100000} mail={w[0]}.{w[1]}@example.org"
    )
text = "\n".join(lines)

ip_re = re.compile(r"\b(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\b")
mail_re = re.compile(r"[\w.]+@[\w.]+\.\w+")
kv_re = re.compile(r"(\w+)=(\d+)")
date_re = re.compile(r"^(\d{4})-(\d\d)-(\d\d)", re.M)


# In a function so the loop uses fast locals, as real code does.
def main():
    total = 0
    for _ in range(max(1, int(11 * SCALE))):
        total += len(ip_re.findall(text))
        total += len(mail_re.findall(text))
        total += sum(int(v) for _, v in kv_re.findall(text)) % 1000003
        total += len(date_re.sub(r"\3/\2/\1", text))
        total += len(re.split(r"\s+(?:error|warn)\s+", text))
        total += len(re.sub(r"(?i)\b(alpha|gamma)\b", lambda m: m.group(1).upper(), text))
    print(f"regex checksum {total}")


main()
