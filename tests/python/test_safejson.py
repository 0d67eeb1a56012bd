"""pycell._safejson, the tagged JSON that carries values between the host and the guest
(smolagents' SafeSerializer format). The guest writes what the host decodes, so
decoding must survive hostile input: it returns a value or raises an Exception."""
import datetime
import decimal
import json
import pathlib
import random
import unittest

import pycell
from pycell import _safejson
from pycell.executor import PycellExecutor

VALUES = [None, True, 1, 1.5, "s", [1, "a"], {"k": [None]}, (1, (2,)), {1, 2}, frozenset({"x"}), b"\x00\xff",
          1 - 2j, datetime.datetime(2024, 1, 2, 3, 4, 5, 6), datetime.date(2024, 2, 29), datetime.time(23, 59),
          datetime.timedelta(days=2, seconds=3), decimal.Decimal("-0.010"), pathlib.PurePosixPath("/tmp/a"),
          {(1, 2): {3}, "k": b""}]

# Tags with fields of the wrong kind, shape or content.
MALFORMED = [
    {"__type__": "bytes", "data": "%%%"}, {"__type__": "bytes"}, {"__type__": "bytes", "data": 7},
    {"__type__": "set", "data": [[1]]}, {"__type__": "tuple", "data": 5}, {"__type__": "frozenset", "data": None},
    {"__type__": "dict_with_complex_keys", "data": [[1]]}, {"__type__": "dict_with_complex_keys", "data": [[[1], 2]]},
    {"__type__": "complex", "real": "x", "imag": 0}, {"__type__": "date", "data": "2024-13-01"},
    {"__type__": "datetime", "data": 1}, {"__type__": "time", "data": "25:00"},
    {"__type__": "timedelta", "total_seconds": 1e300}, {"__type__": "timedelta", "total_seconds": "1"},
    {"__type__": "Decimal", "data": "one"}, {"__type__": "Decimal", "data": []}, {"__type__": "Path", "data": None},
    {"__type__": "dataclass", "class_name": "C", "module": "os", "data": []},
]


def mutate(rng, depth=0):
    """A random JSON value, often a tag with random fields."""
    leaves = [None, True, -1, 2 ** 70, 1e308, "", "2024-01-01", "AAAA", "%", "12:00", "Infinity", "NaN"]
    kind = rng.randrange(5 if depth < 6 else 1)
    if kind == 0:
        return rng.choice(leaves)
    if kind == 1:
        return [mutate(rng, depth + 1) for _ in range(rng.randrange(3))]
    tag = {"__type__": rng.choice(["bytes", "set", "tuple", "frozenset", "complex", "dict_with_complex_keys",
                                   "datetime", "date", "time", "timedelta", "Decimal", "Path", "ndarray",
                                   "PIL.Image", "dataclass", "unknown"])}
    for field in rng.sample(["data", "real", "imag", "total_seconds", "dtype", "class_name", "module"],
                            rng.randrange(4)):
        tag[field] = mutate(rng, depth + 1)
    return tag


class SafeJsonTest(unittest.TestCase):
    def test_round_trip(self):
        for value in VALUES:
            with self.subTest(value=value):
                tagged = json.loads(json.dumps(_safejson.to_json_safe(value), allow_nan=False))
                decoded = _safejson.from_json_safe(tagged)
                self.assertEqual(decoded, pathlib.Path(value) if isinstance(value, pathlib.PurePath) else value)
                if isinstance(value, pathlib.PurePath):
                    self.assertIsInstance(decoded, pathlib.Path)
                else:
                    self.assertIs(type(decoded), type(value))

    def test_types_it_does_not_carry(self):
        for value in (object(), len, {"k": object()}, [1, {2: print}], type("Str", (str,), {})("subclass")):
            with self.subTest(value=value), self.assertRaises(_safejson.SerializationError):
                _safejson.to_json_safe(value)
        self.assertTrue(issubclass(_safejson.SerializationError, TypeError))

    def test_malformed_tags_raise_exceptions(self):
        for tagged in MALFORMED:
            with self.subTest(tagged=tagged), self.assertRaises(Exception):
                _safejson.from_json_safe(tagged)

    def test_images_are_not_decoded(self):
        tagged = {"__type__": "PIL.Image", "data": "iVBORw0KGgo="}
        self.assertEqual(_safejson.from_json_safe(tagged), tagged)

    def test_random_input_returns_or_raises_an_exception(self):
        rng = random.Random(13)
        for _ in range(3000):
            tagged = mutate(rng)
            try:
                _safejson.from_json_safe(tagged)
            except Exception:
                pass

    def test_the_guest_sending_malformed_tags_gets_a_host_error(self):
        with PycellExecutor() as ex:
            for tagged in MALFORMED[:4]:
                with self.subTest(tagged=tagged):
                    call = f"_pycell_host.executor_call(name='final_answer', args=[{tagged!r}], kwargs={{}})"
                    out = ex(f"try:\n    {call}\nexcept Exception as e:\n    kind = type(e).__name__\nkind")
                    self.assertEqual((out.output, out.is_final_answer), ("HostError", False))
            self.assertEqual(ex("final_answer(b'ok')").output, b"ok")


if __name__ == "__main__":
    unittest.main()
