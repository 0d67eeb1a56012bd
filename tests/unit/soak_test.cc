// Soak: thousands of create -> run -> trap -> destroy cycles must return host
// file descriptors and memory to their baseline.
#include <dirent.h>

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <thread>

#include "test_support.h"

namespace pycell {
namespace {

size_t open_fds() {
  size_t n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d)) ++n;
    closedir(d);
  }
  return n;
}

uint64_t rss_kib() {
  std::ifstream in("/proc/self/status");
  std::string key;
  uint64_t v = 0;
  while (in >> key) {
    if (key == "VmRSS:") {
      in >> v;
      return v;
    }
    in.ignore(1 << 12, '\n');
  }
  return 0;
}

void cycle(int i) {
  SessionConfig c;
  c.limits.native_stack_bytes = 512 << 10;
  auto s = Session::create(testing::test_engine(), c);
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->exec("data = list(range(1000))\nopen('/tmp/f', 'w').write('x' * 10000)"));
  // Alternate the ways a run can end in an unknown state.
  const char* endings[] = {"x = []\nfor _ in range(100000): x = [x]\nrepr(x)", "import os\nos._exit(1)"};
  auto r = s->exec(endings[i % 2]);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->rolled_back);
}

size_t mappings() {
  std::ifstream in("/proc/self/maps");
  std::string line;
  size_t n = 0;
  while (std::getline(in, line)) ++n;
  return n;
}

TEST(Soak, ThreadsThatRanGuestsReleaseTheirSignalStacks) {
  auto one = [] {
    auto s = Session::create(testing::test_engine(), {});
    ASSERT_TRUE(s);
    ASSERT_TRUE(s->exec("1+1"));
  };
  std::thread(one).join();  // warm up pools
  const size_t before = mappings();
  for (int i = 0; i < 200; ++i) std::thread(one).join();
  // Each thread maps a signal stack; a leak would leave 200 behind.
  EXPECT_LT(mappings(), before + 20);
}

TEST(Soak, CreateRunTrapDestroyReturnsToBaseline) {
  for (int i = 0; i < 50; ++i) cycle(i);  // warm up allocators and pools
  const size_t fds = open_fds();
  const uint64_t rss = rss_kib();
  constexpr int kCycles = 2000;
  for (int i = 0; i < kCycles; ++i) cycle(i);
  EXPECT_EQ(open_fds(), fds);
  // Per cycle a session touches >1 MiB; a leak of even 10 KiB per cycle shows.
  EXPECT_LT(rss_kib(), rss + 20 * 1024) << "RSS grew from " << rss << " KiB";
}

}  // namespace
}  // namespace pycell
