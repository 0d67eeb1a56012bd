"""Host functions from Python callables: schema from the signature, JSON in and out, errors."""
import json
import threading
import typing
import unittest
from typing import Dict, List, Literal, Optional

import pycell
from pycell import _tools

sandbox = None


def add(a: int, b: int = 2) -> int:
    """Adds two integers.

    Args:
        a: the first addend
        b: the second addend
    """
    return a + b


def fail(reason: str) -> None:
    """Always fails."""
    raise ValueError("refused: " + reason)


def setUpModule():
    global sandbox
    sandbox = pycell.Sandbox(timeout_ms=20_000, functions={"add": add})


def tearDownModule():
    sandbox.close()


class SchemaTest(unittest.TestCase):
    def schema(self, fn):
        name, description, parameters, _ = _tools.host_function(fn)
        return name, description, json.loads(parameters)

    def test_types_defaults_and_docs(self):
        def f(a: int, b: Optional[float] = None, *, tags: List[str] = [], mode: Literal["x", "y"] = "x",
              opts: Dict[str, int] = None, flag: bool = False, anything=None) -> str:
            """Does f.

            Args:
                a: the count
                b (float): the scale
            """
        name, description, s = self.schema(f)
        self.assertEqual(name, "f")
        self.assertEqual(description, "Does f.")  # the guest rebuilds Args from the schema
        p = s["properties"]
        self.assertEqual(s["required"], ["a"])
        self.assertEqual(p["a"], {"type": "integer", "description": "the count"})
        self.assertEqual(p["b"]["type"], ["number", "null"])
        self.assertEqual(p["b"]["description"], "the scale")
        self.assertEqual(p["tags"], {"type": "array", "items": {"type": "string"}, "default": []})
        self.assertEqual(p["mode"]["enum"], ["x", "y"])
        self.assertEqual(p["opts"]["type"], "object")
        self.assertEqual(p["flag"]["type"], "boolean")
        self.assertNotIn("type", p["anything"])
        self.assertFalse(s["additionalProperties"])

    def test_kwargs_allow_extra_arguments(self):
        def f(a, **rest):
            pass

        self.assertTrue(self.schema(f)[2]["additionalProperties"])

    def test_unsupported_signatures_and_names(self):
        def star(*args):
            pass

        with self.assertRaises(TypeError):
            _tools.host_function(star)
        with self.assertRaises(ValueError):
            _tools.host_function(add, name="_private")
        with self.assertRaises(ValueError):
            _tools.host_function(lambda: None)  # "<lambda>" is not an identifier

    def test_tool_object(self):
        class Weather:
            name = "weather"
            description = "Weather in a city."
            inputs = {"city": {"type": "string", "description": "the city"},
                      "unit": {"type": "string", "description": "C or F", "nullable": True}}

            def __call__(self, city, unit=None):
                return f"{city}: 20{unit or 'C'}"

        name, description, s = self.schema(Weather())
        self.assertEqual((name, description), ("weather", "Weather in a city."))
        self.assertEqual(s["required"], ["city"])
        self.assertEqual(s["properties"]["unit"]["type"], ["string", "null"])
        with sandbox.session(tools=[Weather()]) as session:
            self.assertEqual(session.exec("import pycell_host\npycell_host.weather('Oslo')").value, "Oslo: 20C")


class CallTest(unittest.TestCase):
    def test_call_through_pycell_host(self):
        with sandbox.session() as s:
            r = s.exec("import pycell_host\n(pycell_host.add(1), pycell_host.add(1, b=5), pycell_host.add.__doc__)")
            self.assertEqual(r.value[:2], [3, 6])
            self.assertIn("Adds two integers.", r.value[2])
            self.assertIn("the first addend", r.value[2])

    def test_functions_as_protected_globals(self):
        def shout(text: str) -> str:
            return text.upper()

        with sandbox.session(functions=[shout], functions_as_globals=True) as s:
            self.assertEqual(s.exec("shout('hi') + str(add(2, 3))").value, "HI5")
            r = s.exec("shout = None")
            self.assertEqual(r.exit_reason, "exception")
            self.assertEqual(s.exec("shout('ok')").value, "OK")

    def test_json_values_cross_both_ways(self):
        seen = []

        def echo(payload: dict, items: list) -> dict:
            seen.append((payload, items))
            return {"payload": payload, "count": len(items), "none": None}

        with sandbox.session(functions={"echo": echo}) as s:
            r = s.exec("import pycell_host\npycell_host.echo({'a': [1, 2.5, None]}, ['x', True])")
            self.assertEqual(r.value, {"payload": {"a": [1, 2.5, None]}, "count": 2, "none": None})
            self.assertEqual(seen, [({"a": [1, 2.5, None]}, ["x", True])])

    def test_python_exception_becomes_a_guest_host_error(self):
        with sandbox.session(functions=[fail]) as s:
            r = s.exec("import pycell_host\npycell_host.fail('because')")
            self.assertEqual(r.exit_reason, "exception")
            self.assertEqual(r.error.type, "pycell_host.HostError")
            self.assertEqual(r.error.message, "ValueError: refused: because")
            r = s.exec("try:\n    pycell_host.fail('x')\nexcept pycell_host.HostError as e:\n    caught = str(e)\ncaught")
            self.assertEqual(r.value, "ValueError: refused: x")

    def test_host_paths_are_removed_from_error_messages(self):
        def leak() -> None:
            raise OSError("cannot open /home/alice/secret/config.toml")

        with sandbox.session(functions=[leak]) as s:
            r = s.exec("import pycell_host\npycell_host.leak()")
            self.assertEqual(r.error.type, "pycell_host.HostError")
            self.assertNotIn("/home/alice", r.error.message)

    def test_result_that_is_not_json(self):
        def bad() -> object:
            return {1, 2}

        with sandbox.session(functions=[bad]) as s:
            r = s.exec("import pycell_host\npycell_host.bad()")
            self.assertEqual(r.error.type, "pycell_host.HostError")
            self.assertIn("not JSON-serializable", r.error.message)

    def test_wrong_argument_type_never_reaches_the_host(self):
        calls = []

        def count(n: int) -> int:
            calls.append(n)
            return n

        with sandbox.session(functions=[count]) as s:
            r = s.exec("import pycell_host\npycell_host.count('three')")
            self.assertEqual(r.error.type, "TypeError")
            self.assertEqual(calls, [])

    def test_callback_runs_with_the_gil_on_the_exec_thread(self):
        threads = []

        def where() -> str:
            threads.append(threading.get_ident())
            return "here"

        with sandbox.session(functions=[where]) as s:
            self.assertEqual(s.exec("import pycell_host\npycell_host.where()").value, "here")
        self.assertEqual(threads, [threading.get_ident()])

    def test_a_host_function_cannot_reenter_its_session(self):
        busy = ("the session is running code: its own host functions and on_output callback may only use "
                "put_file, get_file and cancel")
        box = []

        def reenter() -> list:
            s = box[0]
            seen = []
            for name, op in [("exec", lambda: s.exec("1")), ("snapshot", s.snapshot), ("fork", s.fork),
                             ("set_variables", lambda: s.set_variables(y=1)),
                             ("get_variable", lambda: s.get_variable("x")), ("close", s.close)]:
                try:
                    op()
                    seen.append(name + ": allowed")
                except pycell.UnavailableError as e:
                    seen.append(f"{name}: {e}")
            # /tmp is not the suspended guest's memory: a tool may hand it files.
            s.put_file("from_host.txt", "hello")
            seen.append(s.get_file("from_guest.txt").decode())
            return seen

        def uncaught() -> None:
            box[0].exec("1")

        with sandbox.session(functions=[reenter, uncaught]) as s:
            box.append(s)
            s.exec("x = 1")
            r = s.exec("open('/tmp/from_guest.txt', 'w').write('hi')\nimport pycell_host\n"
                       "pycell_host.reenter() + [open('/tmp/from_host.txt').read()]")
            self.assertEqual(r.value, [f"{op}: {busy}" for op in
                                       ("exec", "snapshot", "fork", "set_variables", "get_variable", "close")]
                             + ["hi", "hello"])
            r = s.exec("pycell_host.uncaught()")
            self.assertEqual(r.error.type, "pycell_host.HostError")
            self.assertEqual(r.error.message, "UnavailableError: " + busy)
            self.assertFalse(s.closed)
            self.assertEqual(s.exec("(x, 'y' in globals())").value, [1, False])

    def test_functions_survive_fork(self):
        with sandbox.session() as s, s.fork() as f:
            self.assertEqual(f.exec("import pycell_host\npycell_host.add(40)").value, 42)


if __name__ == "__main__":
    unittest.main()
