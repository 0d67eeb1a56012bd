// Guest packages (guest/packages): numpy's and pandas' extension modules are
// linked into the guest and their pure-Python parts come from
// pycell-packages.tar beside the stdlib image; the session's limits hold
// inside their C and C++ code.
#include <gtest/gtest.h>

#include <filesystem>
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

// The guest cannot unwind a C++ exception (wasm2c 1.0.32 has no exception
// handling): pocketfft's std::bad_alloc past the memory cap ends the run as a
// clean trap naming the exception, and the session rolls back.
TEST(Packages, CxxThrowIsACleanTrap) {
  SessionConfig c;
  c.limits.memory_bytes = 128ull << 20;
  Session s = new_session(c);
  ExecResult r = exec_ok(s, "import numpy as np\nr = np.fft.fft(np.ones(2_500_000, complex))");
  EXPECT_EQ(r.exit_reason, ExitReason::kTrap);
  EXPECT_TRUE(r.rolled_back);
  EXPECT_NE(r.stderr_text.find("pycell guest: C++ exception St9bad_alloc thrown"), std::string::npos)
      << r.stderr_text;
  EXPECT_EQ(outcome(s, "import numpy as np\nprint(np.fft.fft(np.ones(4)).real)\n"), "[4. 0. 0. 0.]\n");
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

// A frame of two million rows in 50,000 groups: a groupby's work is in
// pandas' Cython (hashtable factorize, group sums, sorts for the median),
// inside one Python call.
constexpr const char* kLargeFrame =
    "import numpy as np, pandas as pd\n"
    "n = 2_000_000\n"
    "df = pd.DataFrame({'k': np.arange(n) % 50_000, 'v': np.arange(n) * 0.5})\n";

// An engine whose snapshot has pandas imported.
Result<Engine> pandas_engine() {
  EngineConfig c;
  c.stdlib_image = PYCELL_TEST_STDLIB;
  c.preload = {"pandas"};
  return Engine::create(std::move(c));
}

// Fuel is per exec; preloaded, the frame costs ~4.5 M and the groupby ~24 M.
TEST(Packages, FuelStopsAGroupbyInsidePandas) {
  auto e = pandas_engine();
  ASSERT_TRUE(e) << e.error().message();
  SessionConfig c;
  c.limits.fuel = 12'000'000;
  auto s = Session::create(*e, c);
  ASSERT_TRUE(s) << s.error().message();
  ExecResult setup = exec_ok(*s, kLargeFrame);
  ASSERT_EQ(setup.exit_reason, ExitReason::kOk);
  ExecResult r = exec_ok(*s, "g = df.groupby('k')['v'].agg(['sum', 'mean', 'median'])");
  EXPECT_EQ(r.exit_reason, ExitReason::kFuel);
  EXPECT_TRUE(r.rolled_back);
  // Rolled back to the session's start: pandas (preloaded) is there, df is not.
  EXPECT_EQ(outcome(*s, "import pandas as pd\nprint('df' in globals(), pd.Series([1, 2]).sum())\n"), "False 3\n");
}

// Preloaded, so that the 300 ms are the groupby's, not the import's.
TEST(Packages, TimeoutStopsAGroupbyInsidePandas) {
  auto e = pandas_engine();
  ASSERT_TRUE(e) << e.error().message();
  SessionConfig c;
  c.limits.timeout_ms = 300;
  auto s = Session::create(*e, c);
  ASSERT_TRUE(s) << s.error().message();
  ExecResult r = exec_ok(*s, std::string(kLargeFrame) + "while True: df.groupby('k')['v'].median()\n");
  EXPECT_EQ(r.exit_reason, ExitReason::kTimeout);
}

// pandas' import imports neither random nor numpy.random (Engine::create
// refuses a preload that imports random: every session would share its
// state): it may be preloaded, and its state survives the snapshot.
TEST(Packages, PreloadedPandasWorksInFreshSessions) {
  auto e = pandas_engine();
  ASSERT_TRUE(e) << e.error().message();
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
