"""pycell.executor.PycellExecutor against the contract agent frameworks expect
(smolagents' PythonExecutor): send_variables, send_tools, __call__ -> CodeOutput."""
import datetime
import decimal
import gc
import unittest
import weakref

import pycell
from pycell.executor import CodeOutput, PycellExecutor

sandbox = None


def setUpModule():
    global sandbox
    sandbox = pycell.Sandbox()


def tearDownModule():
    sandbox.close()


class ExecutorTest(unittest.TestCase):
    def setUp(self):
        self.ex = PycellExecutor(sandbox=sandbox, timeout_ms=20_000)

    def tearDown(self):
        self.ex.close()

    def test_output_is_the_last_expression_and_logs_the_printed_text(self):
        out = self.ex("x = 20\nprint('computing')\nx + 22")
        self.assertIsInstance(out, CodeOutput)
        self.assertEqual((out.output, out.logs, out.is_final_answer), (42, "computing\n", False))

    def test_no_trailing_expression_gives_none(self):
        self.assertIsNone(self.ex("y = 1").output)

    def test_value_that_is_not_json_comes_back_as_its_repr(self):
        self.assertEqual(self.ex("{1, 2}").output, "{1, 2}")

    def test_state_persists_between_calls(self):
        self.ex("import math\ndef area(r):\n    return math.pi * r * r")
        self.ex("total = area(1)")
        self.assertAlmostEqual(self.ex("total").output, 3.141592653589793)

    def test_send_variables(self):
        self.ex.send_variables({"rows": [1, 2, 3], "meta": {"name": "t"}})
        self.assertEqual(self.ex("[sum(rows), meta['name']]").output, [6, "t"])
        with self.assertRaises(TypeError):
            self.ex.send_variables({"bad": object()})

    def test_send_tools(self):
        calls = []

        def search(query: str, limit: int = 2) -> list:
            """Searches the index."""
            calls.append((query, limit))
            return [f"{query}-{i}" for i in range(limit)]

        self.ex.send_tools({"search": search})
        out = self.ex("r = search('wasm', limit=3)\nprint(len(r))\nr")
        self.assertEqual(out.output, ["wasm-0", "wasm-1", "wasm-2"])
        self.assertEqual(out.logs, "3\n")
        self.assertEqual(calls, [("wasm", 3)])
        self.assertIn("Searches the index.", self.ex("search.__doc__").output)

    def test_tool_error_is_a_guest_exception(self):
        def lookup(key: str) -> str:
            raise KeyError(key)

        self.ex.send_tools({"lookup": lookup})
        self.assertEqual(self.ex("try:\n    lookup('k')\nexcept Exception as e:\n    m = type(e).__name__\nm").output,
                         "HostError")
        with self.assertRaises(pycell.ExecutionError) as cm:
            self.ex("lookup('k')")
        self.assertIn("HostError", str(cm.exception))

    def test_final_answer_ends_the_run(self):
        out = self.ex("print('before')\nfinal_answer({'answer': 42})\nprint('after')\nreached = True")
        self.assertTrue(out.is_final_answer)
        self.assertEqual(out.output, {"answer": 42})
        self.assertEqual(out.logs, "before\n")
        self.assertFalse(self.ex("'reached' in globals()").output)

    def test_final_answer_is_not_caught_by_except_exception(self):
        out = self.ex("def go():\n    try:\n        final_answer('done')\n    except Exception:\n        pass\n"
                      "    return 'not final'\ngo()")
        self.assertEqual((out.output, out.is_final_answer), ("done", True))

    def test_final_answer_keeps_types_json_lacks(self):
        out = self.ex("import datetime, decimal\nfinal_answer(({3, 4}, b'x', datetime.date(2024, 1, 31), "
                      "decimal.Decimal('1.10')))")
        self.assertEqual((out.output, out.is_final_answer), (({3, 4}, b"x", datetime.date(2024, 1, 31),
                                                               decimal.Decimal("1.10")), True))

    def test_final_answer_of_another_type_arrives_as_repr(self):
        out = self.ex("class Point:\n    def __repr__(self):\n        return 'Point()'\nfinal_answer(Point())")
        self.assertEqual((out.output, out.is_final_answer), ("Point()", True))

    def test_variables_and_tool_values_keep_their_types(self):
        seen = []

        def shift(day, delta):
            seen.append((day, delta))
            return day + delta

        self.ex.send_tools({"shift": shift})
        self.ex.send_variables({"start": datetime.date(2024, 1, 31), "pair": (1, 2), "tags": {"a"},
                                "blob": b"\x00\xff", "price": decimal.Decimal("9.99"), "grid": {(0, 1): "x"}})
        out = self.ex("import datetime\nd = shift(start, datetime.timedelta(days=1))\n"
                      "[type(pair).__name__, type(tags).__name__, blob[1], str(price), grid[(0, 1)], d.isoformat()]")
        self.assertEqual(out.output, ["tuple", "set", 255, "9.99", "x", "2024-02-01"])
        self.assertEqual(seen, [(datetime.date(2024, 1, 31), datetime.timedelta(days=1))])

    def test_a_value_json_changes_arrives_as_repr(self):
        self.assertEqual(self.ex("(1, 2)").output, "(1, 2)")
        self.assertEqual(self.ex("[1, 'a']").output, [1, "a"])

    def test_logs_are_capped_like_smolagents(self):
        out = self.ex("print('a' * 100_000 + 'END')")
        self.assertLess(len(out.logs), 50_100)
        self.assertIn("..._This content has been truncated to stay below 50000 characters_...", out.logs)
        self.assertTrue(out.logs.startswith("aaaa") and out.logs.endswith("END\n"))
        with PycellExecutor(sandbox=sandbox, max_print_outputs_length=100) as ex:
            with self.assertRaises(pycell.ExecutionError) as cm:
                ex("print('b' * 1000)\n1 / 0")
            self.assertLess(len(str(cm.exception)), 200)
            self.assertIn("ZeroDivisionError", str(cm.exception))

    def test_remote_executor_constructor(self):
        class Logger:
            def log(self, *args, **kwargs):
                pass

        logger = Logger()
        with PycellExecutor(["json", "collections.*", "*"], logger, sandbox=sandbox, timeout_ms=5000) as ex:
            self.assertIs(ex.logger, logger)
            self.assertEqual(ex("import collections\ncollections.Counter('aab')['a']").output, 2)
        with self.assertRaises(pycell.NotFoundError):
            PycellExecutor(["no_such_module_here"], logger, sandbox=sandbox)
        with self.assertRaises(ValueError):
            PycellExecutor(["os; print(1)"], logger, sandbox=sandbox)
        with self.assertRaises(TypeError):
            PycellExecutor(sandbox)

    def test_cleanup_frees_the_session(self):
        ex = PycellExecutor(sandbox=sandbox)
        ex.cleanup()
        self.assertTrue(ex.session.closed)
        with self.assertRaises(pycell.UnavailableError):
            ex("1")

    def test_final_answer_tool_post_processes(self):
        class FinalAnswerTool:  # the shape of smolagents' FinalAnswerTool
            name = "final_answer"
            description = "Provides a final answer to the given problem."
            inputs = {"answer": {"type": "any", "description": "The final answer to the problem"}}
            output_type = "any"

            def __call__(self, answer):
                return f"Answer: {answer}"

        self.ex.send_tools({"final_answer": FinalAnswerTool()})
        out = self.ex("final_answer(7 * 6)")
        self.assertEqual((out.output, out.is_final_answer), ("Answer: 42", True))

    def test_a_call_after_a_final_answer_is_not_final(self):
        self.ex("final_answer(1)")
        self.assertFalse(self.ex("2").is_final_answer)

    def test_guest_exception_raises_with_the_traceback_and_logs(self):
        self.ex("kept = 'yes'")
        with self.assertRaises(pycell.ExecutionError) as cm:
            self.ex("print('step 1')\ndef f(d):\n    return d['missing']\nf({})")
        text = str(cm.exception)
        self.assertIn("step 1", text)
        self.assertIn("Traceback (most recent call last)", text)
        self.assertIn("return d['missing']", text)
        self.assertIn("KeyError: 'missing'", text)
        self.assertEqual(cm.exception.result.error.type, "KeyError")
        self.assertEqual(self.ex("kept").output, "yes")

    def test_syntax_error_raises(self):
        with self.assertRaises(pycell.ExecutionError) as cm:
            self.ex("def broken(:\n    pass")
        self.assertIn("SyntaxError", str(cm.exception))

    def test_limit_raises_and_the_executor_survives(self):
        ex = PycellExecutor(sandbox=sandbox, timeout_ms=300)
        with ex:
            with self.assertRaises(pycell.ExecutionError) as cm:
                ex("while True:\n    pass")
            self.assertIn("timeout", str(cm.exception))
            self.assertEqual(ex("1 + 1").output, 2)

    def test_hard_stop_rolls_back_to_the_last_successful_call(self):
        with PycellExecutor(sandbox=sandbox, fuel=500_000) as ex:
            ex("counter = 1")
            with self.assertRaises(pycell.ExecutionError) as cm:
                ex("counter = 2\nwhile True:\n    pass")
            self.assertTrue(cm.exception.result.rolled_back)
            self.assertEqual(ex("counter").output, 1)

    def test_tools_survive_a_rollback(self):
        with PycellExecutor(sandbox=sandbox, fuel=500_000) as ex:
            ex.send_tools({"double": lambda x: 2 * x})
            with self.assertRaises(pycell.ExecutionError):
                ex("while True:\n    pass")
            self.assertEqual(ex("double(21)").output, 42)

    def test_an_executor_that_is_never_closed_is_freed(self):
        ex = PycellExecutor(sandbox=sandbox)
        ex.send_tools({"f": lambda: 1})
        alive = weakref.ref(ex)
        del ex
        gc.collect()
        self.assertIsNone(alive())

    def test_default_sandbox(self):
        with PycellExecutor() as ex:
            self.assertEqual(ex("'ok'").output, "ok")


if __name__ == "__main__":
    unittest.main()
