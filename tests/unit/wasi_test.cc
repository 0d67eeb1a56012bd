// WASI handlers called directly with hostile arguments: every family must
// answer bad pointers, lengths and fds with an errno, never touch memory
// outside the guest's, and never write a partial result.
#include <gtest/gtest.h>

#include <cstring>

#include "rt/guest_memory.h"
#include "vfs/mem_fs.h"
#include "wasi/handlers.h"

namespace pycell::wasi {
namespace {

constexpr uint32_t kPage = rt::kWasmPageBytes;

class Wasi : public ::testing::Test {
 protected:
  void SetUp() override {
    auto m = rt::GuestMemory::create(1, kPage);
    ASSERT_TRUE(m);
    mem = std::move(*m);
    ctx.memory = mem.get();
    ctx.out.cap = ctx.err.cap = 1 << 20;
    auto quota = std::make_shared<vfs::MemQuota>();
    quota->max_bytes = 4096;
    quota->max_files = 8;
    quota->max_depth = 3;
    auto root = std::make_shared<vfs::StaticDir>();
    root->add("tmp", vfs::make_mem_root(quota));
    ctx.init_fds(root);
  }
  // Puts bytes at `addr` in guest memory.
  void put(uint32_t addr, const void* p, size_t n) { ASSERT_TRUE(mem->store_bytes(addr, p, n)); }
  void put_str(uint32_t addr, const std::string& s) { put(addr, s.data(), s.size()); }
  uint32_t u32(uint32_t addr) { return *mem->load_u32(addr); }
  // Writes an iovec array {buf,len}... at `at`.
  void iovecs(uint32_t at, std::initializer_list<std::pair<uint32_t, uint32_t>> v) {
    for (auto [b, l] : v) {
      put(at, &b, 4);
      put(at + 4, &l, 4);
      at += 8;
    }
  }
  // A relative monotonic-clock subscription at 0x1000 (a sleep of `ns`).
  void put_sleep(uint64_t ns, uint8_t userdata = 0) {
    uint8_t sub[layout::kSubscriptionSize] = {};
    sub[0] = userdata;
    std::memcpy(sub + 16, "\x01\0\0\0", 4);
    std::memcpy(sub + 24, &ns, 8);
    put(0x1000, sub, sizeof sub);
  }
  Errno open_path(const std::string& p, uint32_t oflags, uint64_t rights, uint32_t& fd) {
    put_str(0x100, p);
    Errno e = path_open(ctx, 3, 0, 0x100, static_cast<uint32_t>(p.size()), oflags, rights, 0, 0, 0x200);
    fd = u32(0x200);
    return e;
  }

  std::unique_ptr<rt::GuestMemory> mem;
  Context ctx;
};

TEST_F(Wasi, FdWriteCapturesStdout) {
  put_str(0x1000, "hello");
  iovecs(0x2000, {{0x1000, 5}});
  EXPECT_EQ(fd_write(ctx, 1, 0x2000, 1, 0x3000), Errno::kSuccess);
  EXPECT_EQ(u32(0x3000), 5u);
  EXPECT_EQ(ctx.out.captured, "hello");
}

TEST_F(Wasi, FdWriteRejectsIovecArrayOutsideMemory) {
  EXPECT_EQ(fd_write(ctx, 1, kPage - 4, 1, 0x3000), Errno::kFault);
  EXPECT_EQ(fd_write(ctx, 1, 0xfffffff8u, 2, 0x3000), Errno::kFault);
  EXPECT_EQ(fd_write(ctx, 1, 0, 0x20000000u, 0x3000), Errno::kInval);  // count past kMaxIovecs
}

TEST_F(Wasi, FdWriteRejectsBufferOutsideMemoryAndWritesNothing) {
  iovecs(0x2000, {{0x1000, 4}, {kPage - 2, 4}});
  EXPECT_EQ(fd_write(ctx, 1, 0x2000, 2, 0x3000), Errno::kFault);
  iovecs(0x2000, {{0xffffffffu, 2}});
  EXPECT_EQ(fd_write(ctx, 1, 0x2000, 1, 0x3000), Errno::kFault);
  EXPECT_EQ(ctx.out.captured, "");
}

TEST_F(Wasi, FdWriteHandlesOverlappingIovecsLargerThanMemory) {
  // Overlapping iovecs may name far more bytes than memory holds; the host
  // copies them in bounded chunks.
  uint32_t at = 0x2000;
  for (int i = 0; i < 70; ++i) {
    uint32_t b = 0, l = kPage;
    put(at, &b, 4);
    put(at + 4, &l, 4);
    at += 8;
  }
  EXPECT_EQ(fd_write(ctx, 1, 0x2000, 70, 0x3000), Errno::kSuccess);  // 70 * 64 KiB fits
  EXPECT_EQ(u32(0x3000), 70 * kPage);
}

TEST_F(Wasi, OutputCapIsEnforced) {
  ctx.out.cap = 3;
  put_str(0x1000, "abcdef");
  iovecs(0x2000, {{0x1000, 6}});
  EXPECT_EQ(fd_write(ctx, 1, 0x2000, 1, 0x3000), Errno::kSuccess);
  EXPECT_EQ(ctx.out.captured, "abc");
  EXPECT_TRUE(ctx.out.truncated);
}

TEST_F(Wasi, BadFdsAreEbadf) {
  iovecs(0x2000, {{0x1000, 1}});
  EXPECT_EQ(fd_write(ctx, 99, 0x2000, 1, 0x3000), Errno::kBadf);
  EXPECT_EQ(fd_read(ctx, 0xffffffffu, 0x2000, 1, 0x3000), Errno::kBadf);
  EXPECT_EQ(fd_close(ctx, 77), Errno::kBadf);
  EXPECT_EQ(fd_seek(ctx, 12345, 0, 0, 0x3000), Errno::kBadf);
  EXPECT_EQ(fd_write(ctx, 0, 0x2000, 1, 0x3000), Errno::kBadf);  // stdin is read-only
}

TEST_F(Wasi, StdinIsEmpty) {
  iovecs(0x2000, {{0x1000, 16}});
  EXPECT_EQ(fd_read(ctx, 0, 0x2000, 1, 0x3000), Errno::kSuccess);
  EXPECT_EQ(u32(0x3000), 0u);
}

TEST_F(Wasi, PreopenIsTheRootAndCannotBeClosed) {
  EXPECT_EQ(fd_prestat_get(ctx, 3, 0x100), Errno::kSuccess);
  EXPECT_EQ(u32(0x104), 1u);
  EXPECT_EQ(fd_prestat_dir_name(ctx, 3, 0x200, 1), Errno::kSuccess);
  EXPECT_EQ(fd_prestat_dir_name(ctx, 3, kPage, 1), Errno::kFault);
  EXPECT_EQ(fd_prestat_dir_name(ctx, 3, 0x200, 0), Errno::kNametoolong);
  EXPECT_EQ(fd_prestat_get(ctx, 4, 0x100), Errno::kBadf);
  EXPECT_EQ(fd_close(ctx, 3), Errno::kNotsup);
}

TEST_F(Wasi, PathOpenRejectsHostilePaths) {
  uint32_t fd;
  // From the root, ".." is the root (POSIX): it leads nowhere new.
  EXPECT_EQ(open_path("../etc/passwd", 0, layout::kRightFdRead, fd), Errno::kNoent);
  EXPECT_EQ(open_path("tmp/../../x", 0, layout::kRightFdRead, fd), Errno::kNoent);
  // From any other directory fd, ".." may never climb above it.
  uint32_t tmp;
  ASSERT_EQ(open_path("tmp", layout::kOflagDirectory, layout::kRightFdRead, tmp), Errno::kSuccess);
  put_str(0x100, "../tmp");
  EXPECT_EQ(path_open(ctx, tmp, 0, 0x100, 6, 0, layout::kRightFdRead, 0, 0, 0x200), Errno::kNotcapable);
  EXPECT_EQ(open_path("tmp/\xff", layout::kOflagCreat, layout::kRightFdWrite, fd), Errno::kIlseq);
  EXPECT_EQ(open_path("tmp/\xc0\xaf", layout::kOflagCreat, layout::kRightFdWrite, fd), Errno::kIlseq);  // overlong "/"
  EXPECT_EQ(open_path("tmp/\xed\xa0\x80", layout::kOflagCreat, layout::kRightFdWrite, fd), Errno::kIlseq);  // surrogate
  EXPECT_EQ(open_path("tmp/caf\xc3\xa9", layout::kOflagCreat, layout::kRightFdWrite, fd), Errno::kSuccess);
  EXPECT_EQ(open_path("/etc/passwd", 0, layout::kRightFdRead, fd), Errno::kNotcapable);
  EXPECT_EQ(open_path(std::string("tmp/a\0b", 7), layout::kOflagCreat, layout::kRightFdWrite, fd), Errno::kInval);
  EXPECT_EQ(open_path("etc/passwd", 0, layout::kRightFdRead, fd), Errno::kNoent);
  EXPECT_EQ(path_open(ctx, 3, 0, kPage - 2, 10, 0, 0, 0, 0, 0x200), Errno::kFault);
  EXPECT_EQ(path_open(ctx, 3, 0, 0, kMaxPathBytes + 1, 0, 0, 0, 0, 0x200), Errno::kNametoolong);
}

TEST_F(Wasi, PathOpenCreatesAndReadsBack) {
  uint32_t fd;
  ASSERT_EQ(open_path("tmp/f", layout::kOflagCreat, layout::kRightFdWrite | layout::kRightFdRead, fd),
            Errno::kSuccess);
  put_str(0x1000, "data");
  iovecs(0x2000, {{0x1000, 4}});
  ASSERT_EQ(fd_write(ctx, fd, 0x2000, 1, 0x3000), Errno::kSuccess);
  ASSERT_EQ(fd_seek(ctx, fd, 0, 0, 0x3000), Errno::kSuccess);
  iovecs(0x2000, {{0x1800, 16}});
  ASSERT_EQ(fd_read(ctx, fd, 0x2000, 1, 0x3000), Errno::kSuccess);
  EXPECT_EQ(u32(0x3000), 4u);
  EXPECT_EQ(mem->read_string(*mem->span(0x1800, 4)), "data");
  EXPECT_EQ(fd_seek(ctx, fd, -10, 1, 0x3000), Errno::kInval);
  EXPECT_EQ(fd_seek(ctx, fd, INT64_MAX, 1, 0x3000), Errno::kInval);  // overflow
  EXPECT_EQ(fd_close(ctx, fd), Errno::kSuccess);
  EXPECT_EQ(fd_close(ctx, fd), Errno::kBadf);
}

TEST_F(Wasi, ReadOnlyTreeRefusesWrites) {
  uint32_t fd;
  EXPECT_EQ(open_path("newfile", layout::kOflagCreat, layout::kRightFdWrite, fd), Errno::kRofs);
  EXPECT_EQ(open_path("tmp", layout::kOflagTrunc, layout::kRightFdWrite, fd), Errno::kIsdir);
  put_str(0x100, "tmp");
  EXPECT_EQ(path_remove_directory(ctx, 3, 0x100, 3), Errno::kRofs);
  EXPECT_EQ(path_unlink_file(ctx, 3, 0x100, 3), Errno::kIsdir);
}

TEST_F(Wasi, QuotaGivesEnospcAndEdquot) {
  uint32_t fd;
  ASSERT_EQ(open_path("tmp/big", layout::kOflagCreat, layout::kRightFdWrite, fd), Errno::kSuccess);
  EXPECT_EQ(fd_filestat_set_size(ctx, fd, 4097), Errno::kNospc);
  EXPECT_EQ(fd_filestat_set_size(ctx, fd, 4096), Errno::kSuccess);
  for (int i = 0; i < 7; ++i) {
    uint32_t f2;
    ASSERT_EQ(open_path("tmp/f" + std::to_string(i), layout::kOflagCreat, layout::kRightFdWrite, f2),
              Errno::kSuccess);
  }
  EXPECT_EQ(open_path("tmp/one-too-many", layout::kOflagCreat, layout::kRightFdWrite, fd), Errno::kDquot);
}

TEST_F(Wasi, DirectoryDepthIsBounded) {
  for (const std::string p : {"tmp/a", "tmp/a/b", "tmp/a/b/c"}) {
    put_str(0x100, p);
    ASSERT_EQ(path_create_directory(ctx, 3, 0x100, static_cast<uint32_t>(p.size())), Errno::kSuccess) << p;
  }
  put_str(0x100, "tmp/a/b/c/d");
  EXPECT_EQ(path_create_directory(ctx, 3, 0x100, 11), Errno::kNametoolong);
}

TEST_F(Wasi, RenameIntoOwnSubtreeIsRefused) {
  put_str(0x100, "tmp/a");
  ASSERT_EQ(path_create_directory(ctx, 3, 0x100, 5), Errno::kSuccess);
  put_str(0x200, "tmp/a/b");
  ASSERT_EQ(path_create_directory(ctx, 3, 0x200, 7), Errno::kSuccess);
  EXPECT_EQ(path_rename(ctx, 3, 0x100, 5, 3, 0x200, 7), Errno::kInval);  // onto its own child
  put_str(0x200, "tmp/a/b/x");
  EXPECT_EQ(path_rename(ctx, 3, 0x100, 5, 3, 0x200, 9), Errno::kInval);
}

TEST_F(Wasi, SymlinksCannotBeCreated) {
  put_str(0x100, "/etc/passwd");
  put_str(0x200, "tmp/l");
  EXPECT_EQ(path_symlink(ctx, 0x100, 11, 3, 0x200, 5), Errno::kNotsup);
  put_str(0x300, "tmp/l");
  EXPECT_EQ(path_readlink(ctx, 3, 0x300, 5, 0x400, 64, 0x500), Errno::kNoent);
}

TEST_F(Wasi, HardLinksStayInsideTheWritableTree) {
  uint32_t fd;
  ASSERT_EQ(open_path("tmp/a", layout::kOflagCreat, layout::kRightFdWrite, fd), Errno::kSuccess);
  put_str(0x100, "tmp/a");
  put_str(0x200, "tmp/b");
  EXPECT_EQ(path_link(ctx, 3, 0, 0x100, 5, 3, 0x200, 5), Errno::kSuccess);
  EXPECT_EQ(path_filestat_get(ctx, 3, 0, 0x200, 5, 0x400), Errno::kSuccess);
  EXPECT_EQ(u32(0x400 + 24), 2u);  // nlink
  EXPECT_EQ(path_link(ctx, 3, 0, 0x100, 5, 3, 0x200, 5), Errno::kExist);
  put_str(0x100, "tmp");
  put_str(0x200, "tmp/c");
  EXPECT_EQ(path_link(ctx, 3, 0, 0x100, 3, 3, 0x200, 5), Errno::kPerm);  // directories never
}

TEST_F(Wasi, TimestampsAreKeptAndSettable) {
  uint32_t fd;
  ASSERT_EQ(open_path("tmp/t", layout::kOflagCreat, layout::kRightFdWrite, fd), Errno::kSuccess);
  put_str(0x100, "tmp/t");
  const uint64_t when = 5'000'000'000;
  EXPECT_EQ(path_filestat_set_times(ctx, 3, 0, 0x100, 5, when, when, 1 | 4), Errno::kSuccess);
  ASSERT_EQ(path_filestat_get(ctx, 3, 0, 0x100, 5, 0x400), Errno::kSuccess);
  uint64_t mtim;
  mem->read(*mem->span(0x400 + 48, 8), &mtim);
  EXPECT_EQ(mtim, when);
  EXPECT_EQ(path_filestat_set_times(ctx, 3, 0, 0x100, 5, 0, 0, 1 | 2), Errno::kInval);  // ATIM and ATIM_NOW
  put_str(0x100, ".");  // the read-only root
  EXPECT_EQ(path_filestat_set_times(ctx, 3, 0, 0x100, 1, 0, 0, 2), Errno::kRofs);
}

TEST_F(Wasi, ReaddirListsAndHonoursSmallBuffers) {
  uint32_t fd;
  ASSERT_EQ(open_path("tmp/x", layout::kOflagCreat, layout::kRightFdWrite, fd), Errno::kSuccess);
  ASSERT_EQ(open_path("tmp", layout::kOflagDirectory, layout::kRightFdRead, fd), Errno::kSuccess);
  EXPECT_EQ(fd_readdir(ctx, fd, 0x1000, 256, 0, 0x3000), Errno::kSuccess);
  EXPECT_EQ(u32(0x3000), layout::kDirentHeader + 1);
  EXPECT_EQ(mem->read_string(*mem->span(0x1000 + layout::kDirentHeader, 1)), "x");
  EXPECT_EQ(fd_readdir(ctx, fd, 0x1000, 10, 0, 0x3000), Errno::kSuccess);  // truncated entry
  EXPECT_EQ(u32(0x3000), 10u);
  EXPECT_EQ(fd_readdir(ctx, fd, kPage - 4, 256, 0, 0x3000), Errno::kFault);
}

TEST_F(Wasi, EnvironIsExactlyWhatWasGiven) {
  ctx.env = {"A=1", "BB=22"};
  ASSERT_EQ(environ_sizes_get(ctx, 0x100, 0x104), Errno::kSuccess);
  EXPECT_EQ(u32(0x100), 2u);
  EXPECT_EQ(u32(0x104), 10u);
  ASSERT_EQ(environ_get(ctx, 0x200, 0x300), Errno::kSuccess);
  EXPECT_EQ(u32(0x200), 0x300u);
  EXPECT_EQ(mem->read_string(*mem->span(0x300, 10)), std::string("A=1\0BB=22\0", 10));
  EXPECT_EQ(environ_get(ctx, 0x200, kPage - 5), Errno::kFault);
  EXPECT_EQ(environ_get(ctx, kPage - 4, 0x300), Errno::kFault);
}

TEST_F(Wasi, ClocksAndRandom) {
  EXPECT_EQ(clock_time_get(ctx, 0, 0, 0x100), Errno::kSuccess);
  EXPECT_GT(*mem->load_u32(0x104), 0u);  // high half of a current epoch in ns
  EXPECT_EQ(clock_time_get(ctx, 9, 0, 0x100), Errno::kInval);
  EXPECT_EQ(clock_time_get(ctx, 1, 0, kPage - 4), Errno::kFault);
  EXPECT_EQ(random_get(ctx, 0x1000, 64), Errno::kSuccess);
  EXPECT_EQ(random_get(ctx, kPage - 10, 64), Errno::kFault);
  EXPECT_EQ(random_get(ctx, 0, 0xffffffffu), Errno::kFault);
}

TEST_F(Wasi, PollSleepsForAClockSubscription) {
  put_sleep(20'000'000, 42);  // 20 ms
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(poll_oneoff(ctx, 0x1000, 0x2000, 1, 0x3000), Errno::kSuccess);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(20));
  EXPECT_EQ(u32(0x3000), 1u);
  EXPECT_EQ(u32(0x2000), 42u);
  EXPECT_EQ(poll_oneoff(ctx, 0x1000, kPage - 8, 1, 0x3000), Errno::kFault);
  EXPECT_EQ(poll_oneoff(ctx, 0x1000, 0x2000, 0, 0x3000), Errno::kInval);
  EXPECT_EQ(poll_oneoff(ctx, 0x1000, 0x2000, 100000, 0x3000), Errno::kInval);
}

// A sleep that is not cut short would hang the test for a minute (ctest's timeout).
TEST_F(Wasi, SoftDeadlineCutsASleepShort) {
  put_sleep(60'000'000'000);
  rt::Budget budget;
  const auto t0 = rt::Budget::Clock::now();
  budget.start(0, t0 + std::chrono::milliseconds(30), rt::Budget::Clock::time_point::max());
  ctx.budget = &budget;
  EXPECT_EQ(poll_oneoff(ctx, 0x1000, 0x2000, 1, 0x3000), Errno::kSuccess);
  EXPECT_GE(rt::Budget::Clock::now() - t0, std::chrono::milliseconds(30));  // not before the deadline
  EXPECT_EQ(u32(0x3000), 1u);  // reported as fired so the caller re-checks
}

TEST_F(Wasi, CancelCutsASleepShort) {
  put_sleep(60'000'000'000);
  rt::Budget budget;
  budget.start(0, rt::Budget::Clock::time_point::max(), rt::Budget::Clock::time_point::max());
  budget.cancel();
  ctx.budget = &budget;
  EXPECT_EQ(poll_oneoff(ctx, 0x1000, 0x2000, 1, 0x3000), Errno::kSuccess);  // returns at once, not in a minute
  EXPECT_EQ(u32(0x3000), 1u);
}

TEST_F(Wasi, SocketsDoNotExist) {
  EXPECT_EQ(sock_accept(ctx, 3, 0, 0x100), Errno::kNotsock);
  EXPECT_EQ(sock_send(ctx, 1, 0x100, 1, 0, 0x200), Errno::kNotsock);
  EXPECT_EQ(sock_recv(ctx, 0, 0x100, 1, 0, 0x200, 0x204), Errno::kNotsock);
  EXPECT_EQ(sock_shutdown(ctx, 99, 0), Errno::kBadf);
}

TEST_F(Wasi, ProcExitRecordsTheCode) {
  EXPECT_EQ(proc_exit(ctx, 7), Errno::kSuccess);
  EXPECT_EQ(ctx.exit_code, 7u);
}

}  // namespace
}  // namespace pycell::wasi
