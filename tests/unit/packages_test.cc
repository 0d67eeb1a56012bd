// Guest packages (guest/packages): numpy's and pandas' extension modules are
// linked into the guest and their pure-Python parts come from
// pycell-packages.tar beside the stdlib image; the session's limits hold
// inside their C and C++ code.
#include <gtest/gtest.h>

#include <filesystem>
#include <optional>
#include <string>

#include "host_dir_support.h"
#include "test_support.h"

namespace pycell {
namespace {

namespace fs = std::filesystem;
using testing::exec_ok;
using testing::new_session;
using testing::outcome;
using testing::TempDir;

TEST(Packages, NumpyImportsAndComputes) {
  Session s = new_session();
  EXPECT_EQ(outcome(s,
                    "import numpy as np\n"
                    "print(np.arange(10).reshape(2, 5).sum(axis=0), np.__version__)\n"
                    "print(np._core._multiarray_umath.__spec__.origin)\n"),
            "[ 5  7  9 11 13] 2.4.6\nbuilt-in\n");
}

// numpy's scalar __copy__ was a METH_NOARGS function defined with one
// parameter: the indirect call trapped in wasm (noargs-signatures.patch).
TEST(Packages, CopyOfANumpyScalarWorks) {
  Session s = new_session();
  EXPECT_EQ(outcome(s,
                    "import copy, numpy as np\n"
                    "x = np.float64(1.5)\n"
                    "print(copy.copy(x), copy.deepcopy({'a': [np.int32(3), x]}))\n"),
            "1.5 {'a': [np.int32(3), np.float64(1.5)]}\n");
}

// The packages image is the one beside the stdlib image actually used: an
// engine over a stdlib image alone has the extension modules (they are in the
// guest) but not the package.
TEST(Packages, ImageIsFoundBesideTheStdlibImage) {
  TempDir dir;
  fs::create_symlink(fs::absolute(PYCELL_TEST_STDLIB), dir.path / "pycell-stdlib.tar");
  EngineConfig c;
  c.stdlib_image = (dir.path / "pycell-stdlib.tar").string();
  c.preinit = false;
  auto e = Engine::create(std::move(c));
  ASSERT_TRUE(e) << e.error().message();
  auto s = Session::create(*e, {});
  ASSERT_TRUE(s) << s.error().message();
  ExecResult r = exec_ok(*s, "import numpy");
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->type, "ModuleNotFoundError");
  EXPECT_EQ(outcome(*s, "import sys\nprint('numpy._core._multiarray_umath' in sys.builtin_module_names)\n"),
            "True\n");
}

// numpy raises its own MemoryError subclass: the exit reason is still
// `memory`, and the error keeps numpy's type.
TEST(Packages, NumpyAllocationPastTheMemoryCapIsMemoryError) {
  SessionConfig c;
  c.limits.memory_bytes = 128ull << 20;
  Session s = new_session(c);
  exec_ok(s, "import numpy as np\nkept = np.ones(4)");
  ExecResult r = exec_ok(s, "a = np.zeros(64 * 2**20)");  // 512 MiB of float64
  EXPECT_EQ(r.exit_reason, ExitReason::kMemory);
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->type, "numpy._core._exceptions._ArrayMemoryError");
  EXPECT_FALSE(r.rolled_back);
  EXPECT_LE(r.peak_memory, c.limits.memory_bytes);
  EXPECT_EQ(outcome(s,
                    "try:\n"
                    "    np.ones((8192, 8192))\n"
                    "except MemoryError as e:\n"
                    "    print('MemoryError', e)\n"
                    "print(kept.sum())\n"),
            "MemoryError Unable to allocate 512. MiB for an array with shape (8192, 8192) and data type float64\n"
            "4.0\n");
}

TEST(Packages, FuelStopsASortInsideNumpy) {
  SessionConfig c;
  c.limits.fuel = 20'000'000;  // the import and the permutation take ~13 M, the sort ~58 M
  Session s = new_session(c);
  ExecResult setup = exec_ok(s, "import numpy as np\na = np.random.default_rng(0).permutation(2_000_000)");
  ASSERT_EQ(setup.exit_reason, ExitReason::kOk);
  // One Python call, tens of millions of loop iterations in numpy's C++ sort.
  ExecResult r = exec_ok(s, "a.sort()");
  EXPECT_EQ(r.exit_reason, ExitReason::kFuel);
  EXPECT_TRUE(r.rolled_back);
  // Rolled back to the session's start: usable, numpy importable again.
  EXPECT_EQ(outcome(s, "import numpy as np\nprint('a' in globals(), np.ones(2).sum())\n"), "False 2.0\n");
}

TEST(Packages, TimeoutStopsASortInsideNumpy) {
  SessionConfig c;
  c.limits.timeout_ms = 300;
  Session s = new_session(c);
  exec_ok(s, "import numpy as np\nrng = np.random.default_rng(1)");
  // Each sort runs in C without a bytecode boundary for a while: the soft stop
  // lands between sorts, or the hard stop ends one.
  ExecResult r = exec_ok(s, "while True: np.sort(rng.random(2_000_000))");
  EXPECT_EQ(r.exit_reason, ExitReason::kTimeout);
}

// The guest cannot unwind a C++ exception (it is translated without exception
// handling): pocketfft's std::bad_alloc past the memory cap aborts the guest,
// naming the exception. The host saw the refused memory.grow, so the run ends
// as `memory` (not a bare trap), and the session rolls back to its last
// committed state, with what was defined before still there.
TEST(Packages, CxxBadAllocPastTheMemoryCapIsMemory) {
  SessionConfig c;
  c.limits.memory_bytes = 128ull << 20;
  Session s = new_session(c);
  exec_ok(s, "import numpy as np\nkept = np.arange(3.0)");
  ASSERT_TRUE(s.snapshot());  // the committed state a hard stop rolls back to
  ExecResult r = exec_ok(s, "r = np.fft.fft(np.ones(2_500_000, complex))");
  EXPECT_EQ(r.exit_reason, ExitReason::kMemory);
  EXPECT_EQ(r.trap, TrapKind::kNone);
  EXPECT_FALSE(r.error);
  EXPECT_TRUE(r.rolled_back);
  EXPECT_LE(r.peak_memory, c.limits.memory_bytes);
  EXPECT_NE(r.stderr_text.find("pycell guest: C++ exception St9bad_alloc thrown"), std::string::npos)
      << r.stderr_text;
  EXPECT_EQ(outcome(s, "print(kept.sum(), 'r' in globals(), np.fft.fft(np.ones(4)).real)\n"),
            "3.0 False [4. 0. 0. 0.]\n");
}

// An abort with no refused allocation in the run stays a trap: the memory
// reason needs the host to have refused the guest memory in that run.
TEST(Packages, AbortWithoutRefusedMemoryIsATrap) {
  SessionConfig c;
  c.limits.memory_bytes = 128ull << 20;
  Session s = new_session(c);
  ExecResult big = exec_ok(s, "import numpy as np\ntry:\n    np.zeros(2**26)\nexcept MemoryError:\n    pass\n");
  ASSERT_EQ(big.exit_reason, ExitReason::kOk);  // a refused grow, recovered from
  ExecResult r = exec_ok(s, "import os\nos.abort()");
  EXPECT_EQ(r.exit_reason, ExitReason::kTrap);
  EXPECT_EQ(r.trap, TrapKind::kUnreachable);
  EXPECT_TRUE(r.rolled_back);
}

// numpy's state survives the engine's snapshot (and the freeze that makes
// every object immortal): sessions start with it imported and use it.
TEST(Packages, PreloadedNumpyWorksInFreshSessions) {
  EngineConfig c;
  c.stdlib_image = PYCELL_TEST_STDLIB;
  c.preload = {"numpy"};
  auto e = Engine::create(std::move(c));
  ASSERT_TRUE(e) << e.error().message();
  for (int i = 0; i < 2; ++i) {
    auto s = Session::create(*e, {});
    ASSERT_TRUE(s) << s.error().message();
    EXPECT_EQ(outcome(*s,
                      "import sys\n"
                      "print('numpy' in sys.modules)\n"
                      "import numpy as np\n"
                      "a = np.arange(6.0).reshape(2, 3)\n"
                      "a *= 2\n"
                      "print(a.sum(axis=1), np.linalg.det(np.eye(3)))\n"),
              "True\n[ 6. 24.] 1.0\n");
  }
}

// numpy.random's legacy global generator is seeded when numpy.random is
// imported: preloaded, it is re-seeded in every session like random's.
TEST(Packages, PreloadedNumpyRandomIsReseededInEverySession) {
  EngineConfig c;
  c.stdlib_image = PYCELL_TEST_STDLIB;
  c.preload = {"numpy", "numpy.random"};
  auto e = Engine::create(std::move(c));
  ASSERT_TRUE(e) << e.error().message();
  auto draw = [&] {
    auto s = Session::create(*e, {});
    if (!s) return s.error().message();
    return outcome(*s, "import sys, numpy as np\nprint('numpy.random' in sys.modules, np.random.randint(1 << 30))\n");
  };
  const std::string a = draw(), b = draw();
  EXPECT_TRUE(a.starts_with("True ")) << a;
  EXPECT_NE(a, b);
}

// An engine whose snapshot has pandas imported.
const Engine* pandas_engine() {
  static const std::optional<Engine> engine = []() -> std::optional<Engine> {
    EngineConfig c;
    c.stdlib_image = PYCELL_TEST_STDLIB;
    c.preload = {"pandas"};
    auto e = Engine::create(std::move(c));
    if (!e) {
      ADD_FAILURE() << e.error().message();
      return std::nullopt;
    }
    return std::move(*e);
  }();
  return engine ? &*engine : nullptr;
}

/// A DataFrame of `rows` rows in 1000 groups, as `df`.
std::string frame(int rows) {
  const std::string n = std::to_string(rows);
  return "import numpy as np, pandas as pd\ndf = pd.DataFrame({'k': np.arange(" + n + ") % 1000, 'v': np.ones(" + n +
         ")})";
}

// One Python call, the loops in pandas' Cython and numpy's C. The budget is
// read off an unlimited run (fuel is deterministic): half the groupby's.
TEST(Packages, FuelStopsAPandasGroupby) {
  const Engine* e = pandas_engine();
  ASSERT_TRUE(e);
  const char* groupby = "df.groupby('k')['v'].describe()";
  auto probe = Session::create(*e, {});
  ASSERT_TRUE(probe);
  const std::string setup = frame(2'000'000);
  const uint64_t setup_fuel = exec_ok(*probe, setup).fuel_used, groupby_fuel = exec_ok(*probe, groupby).fuel_used;
  ASSERT_GT(groupby_fuel, 4 * setup_fuel) << "the frame's set-up would not fit a budget the groupby exceeds";

  SessionConfig c;
  c.limits.fuel = groupby_fuel / 2;
  auto s = Session::create(*e, c);
  ASSERT_TRUE(s);
  ASSERT_EQ(exec_ok(*s, setup).exit_reason, ExitReason::kOk);
  ExecResult r = exec_ok(*s, groupby);
  EXPECT_EQ(r.exit_reason, ExitReason::kFuel);
  EXPECT_TRUE(r.rolled_back);
  // Back at the session's start: pandas still preloaded, the frame gone.
  EXPECT_EQ(outcome(*s, "import sys\nprint('df' in globals(), 'pandas' in sys.modules)\n"), "False True\n");
}

TEST(Packages, TimeoutStopsPandasGroupbys) {
  const Engine* e = pandas_engine();
  ASSERT_TRUE(e);
  SessionConfig c;
  c.limits.timeout_ms = 300;
  auto s = Session::create(*e, c);
  ASSERT_TRUE(s);
  ASSERT_EQ(exec_ok(*s, frame(200'000)).exit_reason, ExitReason::kOk);
  ExecResult r = exec_ok(*s, "while True: df.groupby('k')['v'].mean()");
  EXPECT_EQ(r.exit_reason, ExitReason::kTimeout);
  // Each groupby is short: the soft stop lands between two, as TimeoutError,
  // and the session keeps its state.
  EXPECT_FALSE(r.rolled_back);
  EXPECT_EQ(outcome(*s, "print(len(df), df.groupby('k')['v'].mean().iloc[0])\n"), "200000 1.0\n");
}

// pandas (and python-dateutil, six and tzdata, from wheels) in a fresh session.
TEST(Packages, PandasImportsInAFreshSession) {
  Session s = new_session();
  EXPECT_EQ(outcome(s,
                    "import pandas as pd\n"
                    "df = pd.DataFrame({'k': ['a', 'b', 'a'], 'v': [1, 2, 3]})\n"
                    "print(pd.__version__, df.groupby('k')['v'].sum().to_dict())\n"
                    "print(pd._libs.groupby.__spec__.origin)\n"
                    "print(pd.Timestamp('2024-07-01', tz='Europe/Oslo').utcoffset())\n"),
            "3.1.1 {'a': 4, 'b': 2}\nbuilt-in\n2:00:00\n");
}

// pandas' import imports neither random nor numpy.random (its recipe's
// no-numpy-random-at-import.patch), so sessions from its snapshot need no
// re-seeding; its state survives the snapshot.
TEST(Packages, PreloadedPandasWorksInFreshSessions) {
  const Engine* e = pandas_engine();
  ASSERT_TRUE(e);
  for (int i = 0; i < 2; ++i) {
    auto s = Session::create(*e, {});
    ASSERT_TRUE(s) << s.error().message();
    EXPECT_EQ(outcome(*s,
                      "import sys\n"
                      "print('pandas' in sys.modules, 'random' in sys.modules, 'numpy.random' in sys.modules)\n"
                      "import pandas as pd\n"
                      "df = pd.DataFrame({'k': [1, 2, 1], 'v': [1.5, 2.0, 3.5]})\n"
                      "df['w'] = df['v'] * 2\n"
                      "print(df.groupby('k')['w'].sum().tolist(), df['v'].describe()['50%'])\n"),
              "True False False\n[10.0, 4.0] 2.0\n");
  }
}

}  // namespace
}  // namespace pycell
