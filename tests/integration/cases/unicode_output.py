# Non-ASCII text round-trips through the guest's stdout as UTF-8.
import sys
print(sys.stdout.encoding, sys.getfilesystemencoding())
print("héllo wörld — Ελληνικά — 日本語 — emoji 🐍🎉")
s = "straße"
print(s.upper(), s.casefold(), len(s), len(s.encode()))
print("".join(chr(c) for c in range(0x3b1, 0x3b1 + 10)))
import unicodedata
print(unicodedata.name("🐍"), unicodedata.normalize("NFD", "é").encode("unicode_escape"))
print("surrogate escaped:", "\udcff".encode("utf-8", "surrogateescape"))
