// Session: results, persistence, and the outcomes of exceptions, exits and traps.
#include "pycell/session.h"

#include <gtest/gtest.h>

#include "test_support.h"

namespace pycell {
namespace {

using testing::exec_ok;
using testing::new_session;
using testing::outcome;

TEST(Session, StatePersistsAcrossExecCalls) {
  Session s = new_session();
  exec_ok(s, "x = 40\nimport json");
  ExecResult r = exec_ok(s, "x + 2");
  EXPECT_EQ(r.exit_reason, ExitReason::kOk);
  EXPECT_EQ(r.value_repr, "42");
}

TEST(Session, TrailingExpressionValueAndJson) {
  Session s = new_session();
  ExecOptions o;
  o.want_json = true;
  ExecResult r = exec_ok(s, "{'a': [1, 2.5, None, True]}", o);
  EXPECT_EQ(r.value_repr, "{'a': [1, 2.5, None, True]}");
  EXPECT_EQ(r.value_json, R"({"a": [1, 2.5, null, true]})");
  r = exec_ok(s, "object()", o);
  EXPECT_TRUE(r.value_repr.has_value());
  EXPECT_FALSE(r.value_json.has_value());  // not serializable
  r = exec_ok(s, "None", o);
  EXPECT_FALSE(r.value_repr.has_value());
}

TEST(Session, StdoutAndStderrAreCapturedSeparately) {
  Session s = new_session();
  ExecResult r = exec_ok(s, "import sys\nprint('out')\nprint('err', file=sys.stderr)");
  EXPECT_EQ(r.stdout_text, "out\n");
  EXPECT_EQ(r.stderr_text, "err\n");
}

TEST(Session, OutputIsStreamedAsItIsWritten) {
  Session s = new_session();
  std::string seen;
  ExecOptions o;
  o.on_output = [&](Stream st, std::string_view b) { seen += (st == Stream::kStdout ? "o:" : "e:") + std::string(b); };
  exec_ok(s, "import sys\nprint('a')\nsys.stderr.write('b')", o);
  EXPECT_EQ(seen, "o:ao:\ne:b");  // print() writes the text and the newline separately
}

TEST(Session, UncaughtExceptionIsStructured) {
  Session s = new_session();
  ExecOptions o;
  o.filename = "job.py";
  ExecResult r = exec_ok(s, "def f(x):\n    return 1 / x\nf(0)\n", o);
  EXPECT_EQ(r.exit_reason, ExitReason::kException);
  EXPECT_EQ(r.exit_code, 1);
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->type, "ZeroDivisionError");
  EXPECT_EQ(r.error->message, "division by zero");
  ASSERT_EQ(r.error->frames.size(), 2u);
  EXPECT_EQ(r.error->frames[0].file, "job.py");
  EXPECT_EQ(r.error->frames[0].line, 3);
  EXPECT_EQ(r.error->frames[1].function, "f");
  EXPECT_EQ(r.error->frames[1].source, "return 1 / x");
  EXPECT_NE(r.stderr_text.find("ZeroDivisionError: division by zero"), std::string::npos);
  // The session stays usable after an exception.
  EXPECT_EQ(exec_ok(s, "1 + 1").value_repr, "2");
}

TEST(Session, ModuleQualifiedExceptionType) {
  Session s = new_session();
  ExecResult r = exec_ok(s, "import json\njson.loads('{')");
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->type, "json.decoder.JSONDecodeError");
}

TEST(Session, SystemExitGivesTheExitCode) {
  Session s = new_session();
  ExecResult r = exec_ok(s, "import sys\nsys.exit(3)");
  EXPECT_EQ(r.exit_reason, ExitReason::kExit);
  EXPECT_EQ(r.exit_code, 3);
  r = exec_ok(s, "raise SystemExit('bye')");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.stderr_text, "bye\n");
  r = exec_ok(s, "exit()");
  EXPECT_EQ(r.exit_reason, ExitReason::kExit);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(exec_ok(s, "'still alive'").value_repr, "'still alive'");
}

TEST(Session, ProcExitRollsBackToTheCommittedState) {
  Session s = new_session();
  exec_ok(s, "kept = 1");
  ASSERT_TRUE(s.snapshot());
  exec_ok(s, "lost = 2");
  ExecResult r = exec_ok(s, "import os\nos._exit(9)");
  EXPECT_EQ(r.exit_reason, ExitReason::kExit);
  EXPECT_EQ(r.exit_code, 9);
  EXPECT_TRUE(r.rolled_back);
  EXPECT_EQ(exec_ok(s, "(kept, 'lost' in globals())").value_repr, "(1, False)");
}

TEST(Session, ScriptModeSetsArgvAndReportsNoValue) {
  Session s = new_session();
  ExecOptions o;
  o.mode = ExecOptions::Mode::kScript;
  o.argv = {"prog.py", "--flag"};
  ExecResult r = exec_ok(s, "import sys\nprint(sys.argv)\n42", o);
  EXPECT_EQ(r.stdout_text, "['prog.py', '--flag']\n");
  EXPECT_FALSE(r.value_repr);
}

TEST(Session, SyntaxErrorIsAnException) {
  Session s = new_session();
  ExecResult r = exec_ok(s, "def (");
  EXPECT_EQ(r.exit_reason, ExitReason::kException);
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->type, "SyntaxError");
}

TEST(Session, MemoryCapRaisesMemoryErrorAndSessionSurvives) {
  SessionConfig c;
  c.limits.memory_bytes = 64ull << 20;
  Session s = new_session(c);
  ExecResult r = exec_ok(s, "b = bytearray(200 * 1024 * 1024)");
  EXPECT_EQ(r.exit_reason, ExitReason::kMemory);
  EXPECT_FALSE(r.rolled_back);
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->type, "MemoryError");
  EXPECT_LE(r.peak_memory, 64ull << 20);
  EXPECT_EQ(exec_ok(s, "len(bytearray(1024))").value_repr, "1024");
}

TEST(Session, NativeStackExhaustionTrapsCleanly) {
  SessionConfig c;
  c.limits.native_stack_bytes = 512 << 10;  // below the ~0.8 MiB CPython's C recursion limit needs
  Session s = new_session(c);
  // Nested containers recurse in C (repr), below Python's recursion check.
  exec_ok(s, "before = 'committed'");
  ASSERT_TRUE(s.snapshot());
  ExecResult r = exec_ok(s, "x = []\nfor _ in range(100000): x = [x]\nrepr(x)");
  EXPECT_EQ(r.exit_reason, ExitReason::kTrap);
  EXPECT_EQ(r.trap, TrapKind::kStackExhausted);
  EXPECT_TRUE(r.rolled_back);
  EXPECT_EQ(exec_ok(s, "(before, 'x' in globals())").value_repr, "('committed', False)");
}

TEST(Session, DeepCRecursionWithDefaultStackIsRecursionError) {
  // The default native stack is sized so CPython's own C recursion limit fires first.
  Session s = new_session();
  ExecResult r = exec_ok(s, "x = []\nfor _ in range(100000): x = [x]\nrepr(x)");
  ASSERT_TRUE(r.error) << to_string(r.exit_reason);
  EXPECT_EQ(r.error->type, "RecursionError");
}

TEST(Session, FreshSessionHasCPythonsGlobalsOnly) {
  // Nothing the engine did while preparing its snapshot may show.
  Session s = new_session();
  ExecResult r = exec_ok(s, "sorted(globals())");
  EXPECT_EQ(r.value_repr, "['__annotations__', '__builtins__', '__doc__', '__loader__', '__name__', "
                          "'__package__', '__spec__']");
  EXPECT_EQ(exec_ok(s, "1").value_repr, "1");
  r = exec_ok(s, "1/0");
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->frames.at(0).file, "<cell-3>");
}

TEST(Session, RunOnceUsesAFreshSession) {
  auto r = Session::run_once(testing::test_engine(), "import sys\nprint('once')\n'__file__' in globals()");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->stdout_text, "once\n");
  EXPECT_EQ(r->value_repr, "False");
}

TEST(Session, SessionsDoNotShareVariables) {
  Session a = new_session();
  Session b = new_session();
  exec_ok(a, "secret = 'a-only'");
  ExecResult r = exec_ok(b, "'secret' in globals()");
  EXPECT_EQ(r.value_repr, "False");
}

TEST(Session, SessionsDoNotShareRandomState) {
  // Each session seeds random from its own entropy, not the snapshot's.
  Session a = new_session();
  Session b = new_session();
  const std::string code = "import random, uuid\n(random.random(), str(uuid.uuid4()))";
  EXPECT_NE(exec_ok(a, code).value_repr, exec_ok(b, code).value_repr);
}

TEST(Session, CellSyntaxErrorShowsNoRunnerFrames) {
  Session s = new_session();
  auto r = s.exec("1\nx = (");
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(r->error.has_value());
  EXPECT_EQ(r->error->type, "SyntaxError");
  EXPECT_TRUE(r->error->frames.empty());
  EXPECT_EQ(r->stderr_text.find("Traceback"), std::string::npos) << r->stderr_text;
  EXPECT_NE(r->stderr_text.find("line 2"), std::string::npos) << r->stderr_text;
}

// statistics imports random, which seeds itself once per process: sessions
// from the engine's snapshot re-seed it from their own randomness, so they do
// not replay one sequence, and deterministic ones replay their seed's.
TEST(Session, PreloadedRandomIsReseededInEverySession) {
  EngineConfig c;
  c.stdlib_image = PYCELL_TEST_STDLIB;
  c.preload = {"json", "statistics"};
  auto e = Engine::create(std::move(c));
  ASSERT_TRUE(e.has_value()) << e.error().message();
  auto draw = [&](SessionConfig sc) {
    auto s = Session::create(*e, std::move(sc));
    if (!s) return s.error().message();
    return outcome(*s, "import sys\nprint('random' in sys.modules, __import__('random').getrandbits(64))\n");
  };
  const std::string a = draw({}), b = draw({});
  EXPECT_TRUE(a.starts_with("True ")) << a;
  EXPECT_NE(a, b);
  SessionConfig seeded;
  seeded.determinism.enabled = true;
  seeded.determinism.seed = 7;
  EXPECT_EQ(draw(seeded), draw(seeded));
  seeded.determinism.seed = 8;
  const std::string other_seed = draw(seeded);
  seeded.determinism.seed = 7;
  EXPECT_NE(draw(seeded), other_seed);
}

// A hard stop rolls a fresh session back to the engine's snapshot, which
// lacks the session's own set-up: its environment and, with a preloaded
// random, its own seed. Both are applied again before the next run, so two
// sessions rolled back do not replay one sequence.
TEST(Session, RollbackToTheEngineSnapshotRedoesTheSessionsSetUp) {
  EngineConfig c;
  c.stdlib_image = PYCELL_TEST_STDLIB;
  c.preload = {"random"};
  auto e = Engine::create(std::move(c));
  ASSERT_TRUE(e.has_value()) << e.error().message();
  auto after_rollback = [&] {
    SessionConfig sc;
    sc.limits.fuel = 3'000'000;
    sc.env = {"X=1"};
    auto s = Session::create(*e, std::move(sc));
    if (!s) return s.error().message();
    ExecResult stopped = exec_ok(*s, "while True: pass");
    EXPECT_EQ(stopped.exit_reason, ExitReason::kFuel);
    EXPECT_TRUE(stopped.rolled_back);
    return outcome(*s, "import os, random\nprint(os.environ.get('X'), random.getrandbits(64))\n");
  };
  const std::string a = after_rollback(), b = after_rollback();
  EXPECT_TRUE(a.starts_with("1 ")) << a;
  EXPECT_NE(a, b);
}

// A user's snapshot is state like any other: sessions from it continue its
// generator where it was, they are not re-seeded.
TEST(Session, SnapshotKeepsItsRandomState) {
  EngineConfig c;
  c.stdlib_image = PYCELL_TEST_STDLIB;
  c.preload = {"random"};
  auto e = Engine::create(std::move(c));
  ASSERT_TRUE(e.has_value()) << e.error().message();
  auto s = Session::create(*e, {});
  ASSERT_TRUE(s.has_value());
  exec_ok(*s, "import random\nrandom.random()");
  auto snap = s->snapshot();
  ASSERT_TRUE(snap.has_value());
  const std::string next = outcome(*s, "print(random.random())\n");
  for (int i = 0; i < 2; ++i) {
    auto from = Session::create(*e, *snap, {});
    ASSERT_TRUE(from.has_value());
    EXPECT_EQ(outcome(*from, "print(random.random())\n"), next);
  }
}

TEST(Session, PreloadOfAMissingModuleNamesIt) {
  EngineConfig c;
  c.stdlib_image = PYCELL_TEST_STDLIB;
  c.preload = {"json", "no_such_module"};
  auto e = Engine::create(std::move(c));
  ASSERT_FALSE(e.has_value());
  EXPECT_EQ(e.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(e.error().message(),
            "preload: cannot import 'no_such_module': ModuleNotFoundError: No module named 'no_such_module'");
}

// Preload names are pasted into guest code: anything but a dotted name is
// refused before any guest runs.
TEST(Session, PreloadThatIsNotAModuleNameIsRefused) {
  for (const char* bad : {"json')\nimport os", "", "a..b", ".json", "json.", "1json", "js on"}) {
    EngineConfig c;
    c.stdlib_image = PYCELL_TEST_STDLIB;
    c.preload = {bad};
    auto e = Engine::create(std::move(c));
    ASSERT_FALSE(e.has_value()) << bad;
    EXPECT_EQ(e.error().code(), ErrorCode::kInvalidArgument) << bad;
    EXPECT_NE(e.error().message().find("is not a module name"), std::string::npos) << e.error().message();
  }
}

TEST(Session, DeeplyNestedVariablesAreRefused) {
  Session s = new_session();
  const std::string deep = "{\"x\":" + std::string(100'000, '[') + std::string(100'000, ']') + "}";
  auto r = s.set_variables(deep);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().message(), "set_variables: the JSON is nested deeper than 256 levels");
  ASSERT_TRUE(s.set_variables(R"({"x": [[1]]})"));
  EXPECT_EQ(exec_ok(s, "x").value_repr, "[[1]]");
}

/// Uses 1 MiB of native stack, touching every page of it.
[[gnu::noinline]] void use_stack() {
  volatile char buf[1 << 20];
  for (size_t i = 0; i < sizeof buf; i += 1024) buf[i] = static_cast<char>(i);
  buf[sizeof buf - 1] = 0;
}

// The callback ran on the guest's stack, where only the host reserve (256 KiB)
// is left when the guest prints from deep C recursion: a callback using more
// crashed the host.
TEST(Session, OutputCallbackMayUseMuchStack) {
  SessionConfig c;
  c.limits.native_stack_bytes = 512 << 10;  // the smallest guest stack
  Session s = new_session(c);
  std::string seen;
  ExecOptions o;
  o.on_output = [&](Stream, std::string_view b) {
    use_stack();
    seen += b;
  };
  // repr() of nested lists recurses in C; the innermost element prints.
  ExecResult r = exec_ok(s,
                         "class P:\n    def __repr__(self):\n        print('deep', flush=True)\n        return 'p'\n"
                         "x = P()\nfor _ in range(200): x = [x]\nlen(repr(x))",
                         o);
  EXPECT_EQ(r.exit_reason, ExitReason::kOk);
  EXPECT_EQ(r.value_repr, "401");
  EXPECT_EQ(seen, "deep\n");
}

TEST(Session, OutputCallbackExceptionStopsTheRunAndIsRethrown) {
  Session s = new_session();
  exec_ok(s, "x = 1");
  ASSERT_TRUE(s.snapshot());
  int calls = 0;
  ExecOptions o;
  o.on_output = [&](Stream, std::string_view) {
    ++calls;
    throw std::runtime_error("listener gone");
  };
  try {
    (void)s.exec("x = 2\nprint('a')\nwhile True: print('b')", o);
    ADD_FAILURE() << "exec returned";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "listener gone");
  }
  EXPECT_EQ(calls, 1);
  // Stopped and rolled back like a cancel; the session is usable.
  EXPECT_EQ(exec_ok(s, "x").value_repr, "1");
}

}  // namespace
}  // namespace pycell
