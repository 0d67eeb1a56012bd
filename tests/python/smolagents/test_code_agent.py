"""smolagents (the real package from PyPI) running its CodeAgent through PycellExecutor.

The model is scripted: a smolagents Model subclass that returns canned replies,
so the agent loop (prompting, parsing code, executing it, observations, final
answer) is smolagents' own and nothing goes to the network.
"""
import datetime
import decimal
import unittest

import smolagents
from smolagents import AgentLogger, ChatMessage, CodeAgent, LogLevel, MessageRole, Model, SafeSerializer, tool

import pycell
from pycell import _safejson
from pycell.executor import PycellExecutor

sandbox = None


def setUpModule():
    global sandbox
    sandbox = pycell.Sandbox(timeout_ms=20_000)


def tearDownModule():
    sandbox.close()


class ScriptedModel(Model):
    """Answers each generate() call with the next canned reply, and keeps what it was sent."""

    def __init__(self, *replies):
        super().__init__(model_id="scripted")
        self.replies = list(replies)
        self.prompts = []

    def generate(self, messages, stop_sequences=None, response_format=None, tools_to_call_from=None, **kwargs):
        self.prompts.append("\n".join(_text(m.content) for m in messages))
        if not self.replies:
            raise AssertionError("the agent asked the model more often than the script says")
        return ChatMessage(role=MessageRole.ASSISTANT, content=self.replies.pop(0))


def _text(content):
    """A message's text: smolagents sends content as a list of {"type": "text", "text": ...} parts."""
    return content if isinstance(content, str) else "".join(part.get("text", "") for part in content or ())


def step(code, thought="Next step."):
    return f"Thought: {thought}\n<code>\n{code}\n</code>"


@tool
def exchange_rate(currency: str) -> float:
    """The value of one unit of a currency in euros.

    Args:
        currency: an ISO 4217 code such as "USD"
    """
    return {"USD": 0.5, "GBP": 1.25}[currency]


@tool
def next_business_day(day: datetime.date) -> datetime.date:
    """The working day after a date.

    Args:
        day: the date to start from
    """
    day += datetime.timedelta(days=1)
    while day.weekday() >= 5:
        day += datetime.timedelta(days=1)
    return day


def agent(model, executor, **kwargs):
    return CodeAgent(tools=kwargs.pop("tools", [exchange_rate, next_business_day]), model=model, executor=executor,
                     verbosity_level=LogLevel.OFF, **kwargs)


class CodeAgentTest(unittest.TestCase):
    def setUp(self):
        self.ex = PycellExecutor(sandbox=sandbox)

    def tearDown(self):
        self.ex.cleanup()

    def test_several_steps_with_tools_an_error_and_final_answer(self):
        model = ScriptedModel(
            step("rate = exchange_rate('USD')\nimport sys\nprint('rate', rate, 'on', sys.platform)"),
            step("print(rate / 0)", "Divide."),
            step("final_answer({'usd_in_eur': rate * 200})", "Fix it."))
        a = agent(model, self.ex)
        self.assertEqual(a.run("How many euros are 200 dollars?"), {"usd_in_eur": 100.0})
        # Each step saw the previous one's observation: its printed output, and the traceback of the failure.
        self.assertIn("rate 0.5 on wasi", model.prompts[1])
        self.assertIn("ZeroDivisionError", model.prompts[2])
        steps = [s for s in a.memory.steps if isinstance(s, smolagents.ActionStep)]
        self.assertEqual(len(steps), 3)
        self.assertIsNotNone(steps[1].error)
        self.assertTrue(steps[2].is_final_answer)
        # The code ran in the pycell session, whose state outlives the run.
        self.assertEqual(self.ex.session.get_variable("rate"), 0.5)

    def test_additional_args_and_answers_keep_their_types(self):
        args = {"when": datetime.date(2024, 3, 1), "pair": (3, 4), "tags": {"red", "blue"},
                "blob": b"\x00pycell\xff", "price": decimal.Decimal("19.99"), "grid": {(0, 1): "x"}}
        model = ScriptedModel(step(
            "kinds = [type(v).__name__ for v in (when, pair, tags, blob, price, grid)]\n"
            "monday = next_business_day(when)\n"  # a Friday: a date goes to the host tool and back
            "final_answer((kinds, monday, price * 2, sorted(tags), blob[1:7], frozenset(pair)))"))
        answer = agent(model, self.ex).run("Use the arguments.", additional_args=args)
        self.assertEqual(answer, (["date", "tuple", "set", "bytes", "Decimal", "dict"], datetime.date(2024, 3, 4),
                                  decimal.Decimal("39.98"), ["blue", "red"], b"pycell", frozenset({3, 4})))

    def test_tagged_values_are_smolagents_safeserializer_format(self):
        values = [(1, "a"), {1, 2}, frozenset({"x"}), b"\x00\x01", 1 + 2j, datetime.datetime(2024, 1, 2, 3, 4, 5),
                  datetime.date(2024, 1, 2), datetime.time(3, 4), datetime.timedelta(hours=5),
                  decimal.Decimal("0.10"), {(1, 2): [None, True]}, {"nested": [(1,), {"k": b"v"}]}]
        for value in values:
            with self.subTest(value=value):
                ours, theirs = _safejson.to_json_safe(value), SafeSerializer.to_json_safe(value)
                self.assertEqual(ours, theirs)
                self.assertEqual(SafeSerializer.from_json_safe(ours), value)
                self.assertEqual(_safejson.from_json_safe(theirs), value)
        with self.assertRaises(TypeError):
            _safejson.to_json_safe(object())

    def test_managed_agent(self):
        inner_model = ScriptedModel(step("final_answer(f'{task_numbers[0] + task_numbers[1]}')"))
        with PycellExecutor(sandbox=sandbox) as inner_ex:
            inner = agent(inner_model, inner_ex, tools=[], name="adder", description="Adds two numbers.")
            model = ScriptedModel(
                step("report = adder(task='Add the numbers.', additional_args={'task_numbers': (2, 3)})\nprint(report)"),
                step("final_answer('sum found' if '5' in report else report)"))
            outer = agent(model, self.ex, managed_agents=[inner])
            self.assertEqual(outer.run("Add 2 and 3 with your team."), "sum found")
            self.assertIn("Add the numbers.", inner_model.prompts[0])
            self.assertIn("Here is the final answer from your managed agent 'adder':\n5", model.prompts[1])
            self.assertEqual(inner_ex.session.get_variable("task_numbers"), [2, 3])

    def test_logs_are_capped_at_50000_characters(self):
        model = ScriptedModel(step("print('x' * 200_000 + 'TAIL')"), step("final_answer('done')"))
        a = agent(model, self.ex)
        self.assertEqual(a.run("Print a lot."), "done")
        observation = [s for s in a.memory.steps if isinstance(s, smolagents.ActionStep)][0].observations
        self.assertLess(len(observation), 50_500)
        self.assertIn("truncated to stay below 50000 characters", observation)
        self.assertIn("TAIL", observation)

    def test_cleanup_closes_the_session(self):
        ex = PycellExecutor(sandbox=sandbox)
        with agent(ScriptedModel(step("final_answer(1)")), ex) as a:
            self.assertEqual(a.run("One."), 1)
        self.assertTrue(ex.session.closed)
        ex2 = PycellExecutor(sandbox=sandbox)
        agent(ScriptedModel(), ex2).cleanup()
        self.assertTrue(ex2.session.closed)

    def test_built_like_smolagents_builds_remote_executors(self):
        class PycellCodeAgent(CodeAgent):
            def create_python_executor(self):
                return PycellExecutor(self.additional_authorized_imports, self.logger, **self.executor_kwargs)

        model = ScriptedModel(step("import statistics\nfinal_answer(statistics.mean([1, 2, 3, 6]))"))
        with PycellCodeAgent(tools=[], model=model, additional_authorized_imports=["statistics"],
                             executor_kwargs={"sandbox": sandbox, "timeout_ms": 5000},
                             verbosity_level=LogLevel.OFF) as a:
            self.assertIsInstance(a.python_executor, PycellExecutor)
            self.assertIs(a.python_executor.logger, a.logger)
            self.assertIsInstance(a.logger, AgentLogger)
            self.assertEqual(a.run("Mean?"), 3)
        self.assertTrue(a.python_executor.session.closed)


if __name__ == "__main__":
    unittest.main()
