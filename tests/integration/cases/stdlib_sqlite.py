# sqlite3 in /tmp and in memory, bz2 and lzma: the stdlib modules built on C libraries.
import bz2
import lzma
import sqlite3

db = sqlite3.connect("/tmp/people.db")
db.execute("create table people(name text, age int)")
db.executemany("insert into people values (?, ?)", [("ada", 36), ("alan", 41), ("grace", 85)])
db.commit()
print(db.execute("select name from people where age > 40 order by name").fetchall())
print(db.execute("pragma journal_mode").fetchone()[0])
db.close()

mem = sqlite3.connect(":memory:")
print(mem.execute("select json_object('n', 1 + 1), round(pi(), 3)").fetchone())

data = "pycell ".encode() * 500
for codec in (bz2, lzma):
    packed = codec.compress(data)
    print(codec.__name__, len(packed) < len(data), codec.decompress(packed) == data)
