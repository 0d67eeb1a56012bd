# A spread of pure-Python and C-accelerated stdlib modules producing deterministic output.
import collections, dataclasses, datetime, decimal, enum, fractions, json, re, heapq
import itertools, functools, statistics, textwrap, hashlib, base64, struct, binascii

data = {"name": "cell", "sizes": [3, 1, 2], "nested": {"ok": True, "none": None}}
text = json.dumps(data, sort_keys=True, indent=2)
print(text)
print(json.loads(text) == data)

print(re.findall(r"(\w+)@(\w+)\.org", "a@b.org, c@d.org; bad@x.com"))
print(re.sub(r"(?P<y>\d{4})-(?P<m>\d\d)", r"\g<m>/\g<y>", "2024-05 and 1999-12"))

d = datetime.datetime(2024, 2, 28, 23, 30, tzinfo=datetime.timezone.utc)
print(d + datetime.timedelta(hours=2), (d + datetime.timedelta(days=1)).strftime("%A %d %B %Y"))
print(datetime.date(2024, 12, 31).isocalendar(), datetime.date.fromisoformat("2000-01-01").toordinal())

decimal.getcontext().prec = 40
print(decimal.Decimal(1) / decimal.Decimal(7), decimal.Decimal("0.1") + decimal.Decimal("0.2"))
print(fractions.Fraction(3, 4) + fractions.Fraction(1, 6))

c = collections.Counter("abracadabra")
print(c.most_common(3), collections.OrderedDict.fromkeys("cab"))
Point = collections.namedtuple("Point", "x y")
print(Point(1, 2)._replace(y=5), collections.deque(range(5), maxlen=3))

@dataclasses.dataclass(order=True, frozen=True)
class Item:
    priority: int
    name: str = dataclasses.field(compare=False)
    tags: tuple = ()

items = sorted([Item(3, "c"), Item(1, "a", ("x",)), Item(2, "b")])
print(items)
print(dataclasses.asdict(items[0]))

class Color(enum.Enum):
    RED = 1
    GREEN = 2

class Perm(enum.IntFlag):
    R = 4
    W = 2
    X = 1

print(Color(2), Color["RED"], list(Color), Perm.R | Perm.X, repr(Perm(7)))

h = [5, 1, 8, 3]
heapq.heapify(h)
print([heapq.heappop(h) for _ in range(4)], list(itertools.accumulate([1, 2, 3, 4])))
print(functools.reduce(lambda a, b: a * b, range(1, 21)), statistics.median([3, 1, 4, 1, 5]))
print(textwrap.fill("The quick brown fox jumps over the lazy dog " * 2, width=30))
print(hashlib.sha256(b"pycell").hexdigest(), base64.b64encode(b"\x00\xffsandbox"))
print(struct.pack("<IhB", 1, -2, 3).hex(), binascii.crc32(b"hello"))
print(2 ** 200, 10 ** 30 // 7, 0.1 + 0.2, float("nan") != float("nan"))
