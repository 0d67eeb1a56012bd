// Mounts, from the guest's side: every grant works and every way out of a
// mount is refused with the exact error Python sees. Also the /tmp limits.
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "host_dir_support.h"
#include "test_support.h"

namespace pycell {
namespace {

namespace fs = std::filesystem;
using testing::attempt;
using testing::exec_ok;
using testing::new_session;
using testing::random_token;
using testing::run_fresh;

using testing::get;
using testing::host_names;
using testing::put;
using testing::TempDir;

Mount ro(const fs::path& host, std::string guest) {
  return {host, std::move(guest), Mount::Access::kReadOnly, false};
}
Mount rw(const fs::path& host, std::string guest) {
  return {host, std::move(guest), Mount::Access::kReadWrite, false};
}

/// A read-only mount /data, a read-write mount /work and, beside them on the
/// host, a directory the guest must never reach (holding `secret`).
struct Tree {
  TempDir t;
  fs::path data = t.path / "data", work = t.path / "work", outside = t.path / "outside";
  std::string secret = random_token("pycell-outside-");
  Tree() {
    fs::create_directories(data / "sub");
    fs::create_directories(work);
    fs::create_directories(outside);
    put(data / "hello.txt", "hello");
    put(data / "sub" / "deep.txt", "deep");
    put(work / "notes.txt", "old notes");
    put(outside / "secret.txt", secret);
    fs::create_symlink(outside, data / "abs_link");               // absolute, outside
    fs::create_symlink("../outside", data / "rel_link");          // relative, climbs out
    fs::create_symlink("chain2", data / "chain1");                // a chain ending outside
    fs::create_symlink("sub/../../outside/secret.txt", data / "chain2");
    fs::create_symlink("/etc/passwd", data / "passwd");
    fs::create_symlink("loop2", data / "loop1");
    fs::create_symlink("loop1", data / "loop2");
    fs::create_symlink("sub/deep.txt", data / "good_link");       // stays inside
    EXPECT_EQ(mkfifo((data / "fifo").c_str(), 0600), 0);
  }
  SessionConfig config() const {
    SessionConfig c;
    c.mounts = {ro(data, "/data"), rw(work, "/work")};
    return c;
  }
};

TEST(Mounts, ReadOnlyMountGrantsReadListWalkAndStat) {
  Tree tr;
  struct stat st{};
  ASSERT_EQ(stat((tr.data / "hello.txt").c_str(), &st), 0);
  const int64_t mtime_ns = st.st_mtim.tv_sec * 1'000'000'000ll + st.st_mtim.tv_nsec;
  ExecResult r = run_fresh(
      "import os\n"
      "print(open('/data/hello.txt').read(), open('/data/good_link').read())\n"
      "print(sorted(os.listdir('/data')))\n"
      "print([(d, sorted(ds), sorted(fs)) for d, ds, fs in os.walk('/data')])\n"
      "s = os.stat('/data/hello.txt')\n"
      "print(s.st_size, s.st_mtime_ns, os.path.isdir('/data/sub'), os.path.isfile('/data/sub/deep.txt'))\n"
      "print(sorted(os.listdir('/')))\n",
      tr.config());
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_EQ(r.stdout_text,
            "hello deep\n"
            "['good_link', 'hello.txt', 'sub']\n"  // escaping links, loops and the FIFO are not listed
            "[('/data', ['sub'], ['good_link', 'hello.txt']), ('/data/sub', [], ['deep.txt'])]\n"
            "5 " + std::to_string(mtime_ns) + " True True\n"
            "['data', 'dev', 'tmp', 'usr', 'work']\n");
}

TEST(Mounts, EveryWayOutIsRefused) {
  Tree tr;
  const std::string host_secret = (tr.outside / "secret.txt").string();
  const std::string code =
      attempt("dotdot", "open('/data/../../../" + host_secret.substr(1) + "').read()") +
      attempt("dotdot_cwd", "(os.chdir('/data/sub'), open('../../../etc/passwd').read())") +
      attempt("absolute", "open('" + host_secret + "').read()") +
      attempt("abs_link", "open('/data/abs_link/secret.txt').read()") +
      attempt("abs_link_stat", "os.stat('/data/abs_link')") +
      attempt("rel_link", "open('/data/rel_link/secret.txt').read()") +
      attempt("chain", "open('/data/chain1').read()") +
      attempt("etc_link", "open('/data/passwd').read()") +
      attempt("loop", "open('/data/loop1').read()") +
      attempt("trailing_slash", "open('/data/hello.txt/').read()") +
      attempt("trailing_slash_stat", "os.stat('/data/hello.txt/')") +
      attempt("fifo", "open('/data/fifo').read()") +
      attempt("fifo_stat", "os.stat('/data/fifo')") +
      attempt("walk", "[f for d, _, fs in os.walk('/') for f in fs if f == 'secret.txt']");
  ExecResult r = run_fresh("import os\n" + code, tr.config());
  EXPECT_EQ(r.stdout_text.find(tr.secret), std::string::npos);
  EXPECT_EQ(r.stdout_text,
            "dotdot FileNotFoundError ENOENT\n"  // ".." stops at the guest's own "/"
            "dotdot_cwd FileNotFoundError ENOENT\n"
            "absolute FileNotFoundError ENOENT\n"
            "abs_link PermissionError ENOTCAPABLE\n"
            "abs_link_stat PermissionError ENOTCAPABLE\n"
            "rel_link PermissionError ENOTCAPABLE\n"
            "chain PermissionError ENOTCAPABLE\n"
            "etc_link PermissionError ENOTCAPABLE\n"
            "loop OSError ELOOP\n"
            "trailing_slash NotADirectoryError ENOTDIR\n"
            "trailing_slash_stat NotADirectoryError ENOTDIR\n"
            "fifo OSError ENOTSUP\n"
            "fifo_stat OSError ENOTSUP\n"
            "walk ALLOWED []\n")
      << r.stderr_text;
}

TEST(Mounts, ReadOnlyMountRefusesEveryMutation) {
  Tree tr;
  const std::string code =
      attempt("write", "open('/data/hello.txt', 'w')") +
      attempt("append", "open('/data/hello.txt', 'a')") +
      attempt("update", "open('/data/hello.txt', 'r+')") +
      attempt("trunc", "os.open('/data/hello.txt', os.O_RDONLY | os.O_TRUNC)") +
      attempt("create", "open('/data/new.txt', 'x')") +
      attempt("mkdir", "os.mkdir('/data/newdir')") +
      attempt("unlink", "os.unlink('/data/hello.txt')") +
      attempt("rmdir", "os.rmdir('/data/sub')") +
      attempt("rename", "os.rename('/data/hello.txt', '/data/moved.txt')") +
      attempt("link", "os.link('/data/hello.txt', '/data/linked.txt')") +
      attempt("utime", "os.utime('/data/hello.txt', (0, 0))") +
      attempt("mount_point", "os.mkdir('/newtop')");
  ExecResult r = run_fresh("import os\n" + code, tr.config());
  EXPECT_EQ(r.stdout_text,
            "write OSError EROFS\n"
            "append OSError EROFS\n"
            "update OSError EROFS\n"
            "trunc OSError EROFS\n"
            "create OSError EROFS\n"
            "mkdir OSError EROFS\n"
            "unlink OSError EROFS\n"
            "rmdir OSError EROFS\n"
            "rename OSError EROFS\n"
            "link OSError EROFS\n"
            "utime OSError EROFS\n"
            "mount_point OSError EROFS\n")
      << r.stderr_text;
  EXPECT_EQ(get(tr.data / "hello.txt"), "hello");
  EXPECT_EQ(host_names(tr.data), (std::vector<std::string>{"abs_link", "chain1", "chain2", "fifo", "good_link",
                                                           "hello.txt", "loop1", "loop2", "passwd", "rel_link",
                                                           "sub"}));
}

TEST(Mounts, LinksAndRenamesAcrossFilesystemsAreExdev) {
  Tree tr;
  const std::string code =
      "open('/tmp/t.txt', 'w').write('tmp')\n" +
      attempt("link_ro_to_rw", "os.link('/data/hello.txt', '/work/hello.txt')") +
      attempt("rename_ro_to_rw", "os.rename('/data/hello.txt', '/work/hello.txt')") +
      attempt("rename_rw_to_ro", "os.rename('/work/notes.txt', '/data/notes.txt')") +
      attempt("rename_rw_to_tmp", "os.rename('/work/notes.txt', '/tmp/notes.txt')") +
      attempt("rename_tmp_to_rw", "os.rename('/tmp/t.txt', '/work/t.txt')") +
      attempt("link_rw_to_tmp", "os.link('/work/notes.txt', '/tmp/notes.txt')") +
      attempt("link_tmp_to_rw", "os.link('/tmp/t.txt', '/work/t.txt')") +
      attempt("replace_ro_over_rw", "os.replace('/data/hello.txt', '/work/notes.txt')");
  ExecResult r = run_fresh("import os\n" + code, tr.config());
  EXPECT_EQ(r.stdout_text,
            "link_ro_to_rw OSError EXDEV\n"
            "rename_ro_to_rw OSError EXDEV\n"
            "rename_rw_to_ro OSError EXDEV\n"
            "rename_rw_to_tmp OSError EXDEV\n"
            "rename_tmp_to_rw OSError EXDEV\n"
            "link_rw_to_tmp OSError EXDEV\n"
            "link_tmp_to_rw OSError EXDEV\n"
            "replace_ro_over_rw OSError EXDEV\n")
      << r.stderr_text;
  EXPECT_EQ(host_names(tr.work), std::vector<std::string>{"notes.txt"});
  EXPECT_EQ(get(tr.work / "notes.txt"), "old notes");
  EXPECT_EQ(get(tr.data / "hello.txt"), "hello");
}

// POSIX open(O_CREAT) follows a dangling symlink and creates its target.
// Pointing outside, it is refused like any escape; pointing inside, the new
// file replaces the link.
TEST(Mounts, CreatingThroughADanglingSymlinkNeverCreatesItsTarget) {
  Tree tr;
  fs::create_symlink("../outside/planted.txt", tr.work / "dangling");
  fs::create_symlink(tr.outside / "planted2.txt", tr.work / "dangling_abs");
  fs::create_symlink("nowhere/target.txt", tr.work / "dangling_in");
  ExecResult r = run_fresh("import os\n" + attempt("out", "open('/work/dangling', 'w')") +
                               attempt("out_abs", "open('/work/dangling_abs', 'x')") +
                               "with open('/work/dangling_in', 'w') as f: f.write('in')\n"
                               "print(open('/work/dangling_in').read(), sorted(os.listdir('/work')))\n",
                           tr.config());
  EXPECT_EQ(r.stdout_text,
            "out PermissionError ENOTCAPABLE\n"
            "out_abs PermissionError ENOTCAPABLE\n"
            "in ['dangling_in', 'notes.txt']\n")
      << r.stderr_text;
  EXPECT_EQ(host_names(tr.outside), std::vector<std::string>{"secret.txt"});
  EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(tr.work / "dangling_in")));
  EXPECT_FALSE(fs::exists(tr.work / "nowhere"));
}

TEST(Mounts, GuestCannotCreateSymlinks) {
  Tree tr;
  const std::string code = attempt("absolute", "os.symlink('" + tr.outside.string() + "', '/work/out')") +
                           attempt("relative", "os.symlink('../outside', '/work/out')") +
                           attempt("inside", "os.symlink('notes.txt', '/work/n')");
  ExecResult r = run_fresh("import os\n" + code, tr.config());
  EXPECT_EQ(r.stdout_text,
            "absolute OSError ENOTSUP\n"
            "relative OSError ENOTSUP\n"
            "inside OSError ENOTSUP\n")
      << r.stderr_text;
  EXPECT_EQ(host_names(tr.work), std::vector<std::string>{"notes.txt"});
}

TEST(Mounts, ReadWriteMountGrantsWritesRenamesAndLinks) {
  Tree tr;
  ExecResult r = run_fresh(
      "import os, shutil\n"
      "with open('/work/out.txt', 'w') as f: f.write('written')\n"
      "with open('/work/out.txt', 'a') as f: f.write(' more')\n"
      "with open('/work/out.txt', 'r+') as f: f.write('W')\n"
      "print(open('/work/out.txt').read(), os.path.getsize('/work/out.txt'))\n"
      "os.mkdir('/work/d')\n"
      "with open('/work/d/tmp.json', 'w') as f: f.write('{}')\n"
      "os.replace('/work/d/tmp.json', '/work/final.json')\n"  // the atomic-write pattern
      "os.rename('/work/out.txt', '/work/d/out.txt')\n"
      "os.link('/work/d/out.txt', '/work/hard.txt')\n"
      "shutil.copy('/data/hello.txt', '/work/copied.txt')\n"
      "os.unlink('/work/notes.txt')\n"
      "print(sorted(os.listdir('/work')), os.listdir('/work/d'), os.stat('/work/hard.txt').st_nlink)\n"
      "os.unlink('/work/hard.txt'); os.unlink('/work/d/out.txt'); os.rmdir('/work/d')\n"
      "print(sorted(os.listdir('/work')))\n",
      tr.config());
  EXPECT_EQ(r.stdout_text,
            "Written more 12\n"
            "['copied.txt', 'd', 'final.json', 'hard.txt'] ['out.txt'] 2\n"
            "['copied.txt', 'final.json']\n")
      << r.stderr_text;
  EXPECT_EQ(host_names(tr.work), (std::vector<std::string>{"copied.txt", "final.json"}));
  EXPECT_EQ(get(tr.work / "final.json"), "{}");
  EXPECT_EQ(get(tr.work / "copied.txt"), "hello");
}

TEST(Mounts, WritesArePublishedAtClose) {
  Tree tr;
  Session s = new_session(tr.config());
  auto r = s.exec("f = open('/work/notes.txt', 'w')\nf.write('new notes')\nf.flush()\n"
                  "import os\nsorted(os.listdir('/work'))");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->value_repr, "['notes.txt']") << r->stderr_text;  // the temporary file is hidden
  EXPECT_EQ(get(tr.work / "notes.txt"), "old notes");            // not published yet
  r = s.exec("f.close()");
  ASSERT_TRUE(r);
  EXPECT_EQ(get(tr.work / "notes.txt"), "new notes");
  EXPECT_EQ(host_names(tr.work), std::vector<std::string>{"notes.txt"});
}

// The atomic-write policy: a run that stops with a mounted file half written
// leaves it old, and no temporary file behind.
TEST(Mounts, TrapMidWriteLeavesTheOldFile) {
  Tree tr;
  SessionConfig c = tr.config();
  c.limits.fuel = 20'000'000;
  Session s = new_session(c);
  auto r = s.exec("f = open('/work/notes.txt', 'w')\nf.write('half of the new')\nf.flush()\n"
                  "g = open('/work/brand_new.txt', 'w')\ng.write('x')\ng.flush()\n"
                  "while True: pass\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->exit_reason, ExitReason::kFuel);
  EXPECT_TRUE(r->rolled_back);
  EXPECT_EQ(get(tr.work / "notes.txt"), "old notes");
  EXPECT_EQ(host_names(tr.work), std::vector<std::string>{"notes.txt"});

  r = s.exec("f = open('/work/notes.txt', 'w')\nf.write('half')\nf.flush()\nimport os\nos._exit(3)\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->exit_reason, ExitReason::kExit);
  EXPECT_EQ(get(tr.work / "notes.txt"), "old notes");
  EXPECT_EQ(host_names(tr.work), std::vector<std::string>{"notes.txt"});

  r = s.exec("with open('/work/notes.txt', 'w') as f: f.write('new notes')\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->exit_reason, ExitReason::kOk) << r->stderr_text;
  EXPECT_EQ(get(tr.work / "notes.txt"), "new notes");
  EXPECT_EQ(host_names(tr.work), std::vector<std::string>{"notes.txt"});
}

TEST(Mounts, DestroyedSessionLeavesTheOldFile) {
  Tree tr;
  {
    Session s = new_session(tr.config());
    auto r = s.exec("f = open('/work/notes.txt', 'w')\nf.write('unfinished')\nf.flush()\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->exit_reason, ExitReason::kOk);
  }
  EXPECT_EQ(get(tr.work / "notes.txt"), "old notes");
  EXPECT_EQ(host_names(tr.work), std::vector<std::string>{"notes.txt"});
}

TEST(Mounts, WriteQuotaIsEdquot) {
  Tree tr;
  SessionConfig c = tr.config();
  c.limits.mount_write_bytes = 64 * 1024;
  // Creating the file costs 4 KiB; 40,000 bytes fit; 30,000 more do not (the
  // write fails whole), nor does an overwrite of 20,000 after that.
  ExecResult r = run_fresh(
      "import os\n"
      "fd = os.open('/work/big.bin', os.O_WRONLY | os.O_CREAT)\n"
      "print(os.write(fd, b'a' * 40000))\n" +
      attempt("more", "os.write(fd, b'b' * 30000)") +
      "os.lseek(fd, 0, 0)\n"
      "print(os.write(fd, b'c' * 20000))\n" +
      attempt("overwrite", "os.write(fd, b'd' * 2000)") +
      attempt("grow", "os.ftruncate(fd, 100000)") +
      "os.close(fd)\n"
      "print(os.path.getsize('/work/big.bin'))\n" +
      attempt("new_file", "open('/work/other.txt', 'w').close()"),
      c);
  EXPECT_EQ(r.stdout_text,
            "40000\n"
            "more OSError EDQUOT\n"
            "20000\n"
            "overwrite OSError EDQUOT\n"
            "grow OSError EDQUOT\n"
            "40000\n"
            "new_file OSError EDQUOT\n")
      << r.stderr_text;
  EXPECT_EQ(get(tr.work / "big.bin"), std::string(20000, 'c') + std::string(20000, 'a'));
}

TEST(Mounts, SnapshotAndForkDoNotCarryOpenMountFiles) {
  Tree tr;
  Session s = new_session(tr.config());
  auto r = s.exec("import os\nrfd = os.open('/data/hello.txt', os.O_RDONLY)\n"
                  "wfd = os.open('/work/notes.txt', os.O_WRONLY | os.O_TRUNC)\nos.write(wfd, b'parent')\n"
                  "tfd = os.open('/tmp/t', os.O_RDWR | os.O_CREAT)\n");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->exit_reason, ExitReason::kOk) << r->stderr_text;
  auto child = s.fork();
  ASSERT_TRUE(child) << child.error().message();
  const std::string probe =
      attempt("read", "os.read(rfd, 5)") + attempt("write", "os.write(wfd, b'child')") +
      attempt("close", "os.close(wfd)") + attempt("tmp", "os.write(tfd, b'tmp')");
  ExecOptions script;
  script.mode = ExecOptions::Mode::kScript;
  r = child->exec(probe, script);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->stdout_text,
            "read OSError EBADF\n"
            "write OSError EBADF\n"
            "close OSError EBADF\n"
            "tmp ALLOWED 3\n")  // /tmp is part of the state: its fds are carried
      << r->stderr_text;
  EXPECT_EQ(get(tr.work / "notes.txt"), "old notes");
  r = s.exec("print(os.read(rfd, 5))\nos.close(wfd)\n", script);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->stdout_text, "b'hello'\n") << r->stderr_text;
  EXPECT_EQ(get(tr.work / "notes.txt"), "parent");

  // A snapshot does not hold them either: restored, the fd is gone.
  r = s.exec("rfd = os.open('/data/hello.txt', os.O_RDONLY)\n", script);
  ASSERT_TRUE(r);
  auto snap = s.snapshot();
  ASSERT_TRUE(snap);
  auto restored = Session::create(testing::test_engine(), *snap, tr.config());
  ASSERT_TRUE(restored) << restored.error().message();
  r = restored->exec(attempt("read", "os.read(rfd, 5)"), script);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->stdout_text, "read OSError EBADF\n") << r->stderr_text;
}

// A host thread swaps a directory of the mount with a symlink to a directory
// outside it while the guest opens a file under it in a loop.
TEST(Mounts, DirectorySwappedForSymlinkWhileGuestOpensNeverEscapes) {
  TempDir t;
  const fs::path mnt = t.path / "mnt", outside = t.path / "outside";
  fs::create_directories(mnt / "swap");
  fs::create_directories(outside);
  const std::string secret = random_token("pycell-outside-");
  put(mnt / "swap" / "file.txt", "inside");
  put(outside / "file.txt", secret);
  fs::create_symlink("../outside", mnt / "spare");
  SessionConfig c;
  c.mounts = {ro(mnt, "/m")};
  Session s = new_session(c);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> swaps{0};
  const std::string a = mnt / "swap", b = mnt / "spare";
  std::thread swapper([&] {
    while (!stop) {
      if (renameat2(AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), RENAME_EXCHANGE) == 0) ++swaps;
    }
  });
  ExecOptions script;
  script.mode = ExecOptions::Mode::kScript;
  auto r = s.exec(
      "import errno, time\n"
      "seen = {}\n"
      "end = time.monotonic() + 1.5\n"
      "while time.monotonic() < end:\n"
      "    try:\n"
      "        with open('/m/swap/file.txt') as f: v = f.read()\n"
      "    except OSError as e:\n"
      "        v = errno.errorcode.get(e.errno, str(e.errno))\n"
      "    seen[v] = seen.get(v, 0) + 1\n"
      "print(sorted(seen))\n"
      "print(seen.get('inside', 0) > 0)\n",
      script);
  stop = true;
  swapper.join();
  ASSERT_TRUE(r);
  EXPECT_GT(swaps.load(), 0u);
  EXPECT_EQ(r->stdout_text.find(secret), std::string::npos);
  // Only the file inside, or a refusal (EBUSY if the kernel kept seeing renames).
  EXPECT_TRUE(r->stdout_text == "['ENOTCAPABLE', 'inside']\nTrue\n" ||
              r->stdout_text == "['EBUSY', 'ENOTCAPABLE', 'inside']\nTrue\n")
      << r->stdout_text << r->stderr_text;
}

TEST(Mounts, InvalidMountsAreRefused) {
  TempDir t;
  fs::create_directories(t.path / "d");
  put(t.path / "file", "x");
  const fs::path d = t.path / "d";
  struct Case {
    std::vector<Mount> mounts;
    ErrorCode code;
    std::string message_has;
  };
  Mount pkg_rw = rw(d, "/pkgs");
  pkg_rw.package_path = true;
  const std::vector<Case> cases = {
      {{ro(d, "data")}, ErrorCode::kInvalidArgument, "\"data\": must be absolute"},
      {{ro(d, "/")}, ErrorCode::kInvalidArgument, "\"/\""},
      {{ro(d, "/data/")}, ErrorCode::kInvalidArgument, "\"/data/\": must not end in '/'"},
      {{ro(d, "//data")}, ErrorCode::kInvalidArgument, "\"//data\""},
      {{ro(d, "/a/./b")}, ErrorCode::kInvalidArgument, "normalized"},
      {{ro(d, "/a/../tmp")}, ErrorCode::kInvalidArgument, "normalized"},
      {{ro(d, "/tmp")}, ErrorCode::kInvalidArgument, "\"/tmp\": cannot be /tmp, /usr"},
      {{ro(d, "/tmp/x")}, ErrorCode::kInvalidArgument, "\"/tmp/x\""},
      {{ro(d, "/usr")}, ErrorCode::kInvalidArgument, "\"/usr\""},
      {{ro(d, "/usr/local/lib/python3.13/x")}, ErrorCode::kInvalidArgument, "/usr/local"},
      {{ro(d, "/dev")}, ErrorCode::kInvalidArgument, "\"/dev\": cannot be /tmp, /usr, /dev"},
      {{ro(d, "/dev/null")}, ErrorCode::kInvalidArgument, "\"/dev/null\""},
      {{ro(d, "/a"), rw(d, "/a")}, ErrorCode::kInvalidArgument, "\"/a\": mounted twice"},
      {{ro(d, "/a"), ro(d, "/a/b")}, ErrorCode::kInvalidArgument, "\"/a/b\": nested with mount \"/a\""},
      {{ro(d, "/a/b"), ro(d, "/a")}, ErrorCode::kInvalidArgument, "\"/a\": nested with mount \"/a/b\""},
      {{pkg_rw}, ErrorCode::kInvalidArgument, "package_path needs a read-only mount"},
      {{ro(t.path / "missing", "/m")}, ErrorCode::kNotFound, "missing"},
      {{ro(t.path / "file", "/m")}, ErrorCode::kNotFound, "file"},
  };
  for (const auto& k : cases) {
    SessionConfig c;
    c.mounts = k.mounts;
    auto s = Session::create(testing::test_engine(), c);
    ASSERT_FALSE(s) << k.message_has;
    EXPECT_EQ(s.error().code(), k.code) << s.error().message();
    EXPECT_NE(s.error().message().find(k.message_has), std::string::npos) << s.error().message();
  }
  // Siblings and prefixes that are not parents are fine.
  SessionConfig ok;
  ok.mounts = {ro(d, "/a"), ro(d, "/ab"), ro(d, "/usrx"), ro(d, "/devices"), ro(d, "/mnt/x/y")};
  EXPECT_TRUE(Session::create(testing::test_engine(), ok));
}

TEST(Mounts, DeepGuestPathsGetReadOnlyParents) {
  Tree tr;
  SessionConfig c;
  c.mounts = {ro(tr.data, "/mnt/in/data"), rw(tr.work, "/mnt/out")};
  ExecResult r = run_fresh("import os\n"
                           "print(sorted(os.listdir('/mnt')), os.listdir('/mnt/in'))\n"
                           "print(open('/mnt/in/data/hello.txt').read())\n" +
                               attempt("mkdir", "os.mkdir('/mnt/new')") +
                               attempt("parent", "open('/mnt/in/data/../../out/notes.txt').read()"),
                           c);
  EXPECT_EQ(r.stdout_text,
            "['in', 'out'] ['data']\n"
            "hello\n"
            "mkdir OSError EROFS\n"
            "parent ALLOWED old notes\n")
      << r.stderr_text;
}

// A package-path mount holding a package, a module and an unpacked wheel's
// metadata: all import normally, and nothing is written back.
TEST(Mounts, PackagesImportFromAPackagePathMount) {
  TempDir t;
  fs::create_directories(t.path / "mypkg");
  fs::create_directories(t.path / "mypkg-1.2.dist-info");
  put(t.path / "mypkg" / "__init__.py", "from .core import VALUE\n");
  put(t.path / "mypkg" / "core.py", "VALUE = 'imported from a mount'\n");
  put(t.path / "mypkg-1.2.dist-info" / "METADATA", "Metadata-Version: 2.1\nName: mypkg\nVersion: 1.2\n");
  put(t.path / "single.py", "X = 42\n");
  Mount pkgs = ro(t.path, "/pkgs");
  pkgs.package_path = true;
  SessionConfig c;
  c.mounts = {pkgs};
  ExecResult r = run_fresh("import sys, importlib.metadata\n"
                           "import mypkg, single\n"
                           "print(mypkg.VALUE, single.X, mypkg.__file__, '/pkgs' in sys.path)\n"
                           "print(importlib.metadata.version('mypkg'))\n",
                           c);
  EXPECT_EQ(r.stdout_text, "imported from a mount 42 /pkgs/mypkg/__init__.py True\n1.2\n") << r.stderr_text;
  EXPECT_EQ(host_names(t.path / "mypkg"), (std::vector<std::string>{"__init__.py", "core.py"}));  // no __pycache__
}

/// Lowers the soft RLIMIT_NOFILE for one test to what a process gets by
/// default (the servers raise it; an embedding program may not).
struct SoftFdLimit {
  rlimit old{};
  explicit SoftFdLimit(rlim_t n) {
    EXPECT_EQ(getrlimit(RLIMIT_NOFILE, &old), 0);
    rlimit l = old;
    l.rlim_cur = std::min(n, old.rlim_max);
    EXPECT_EQ(setrlimit(RLIMIT_NOFILE, &l), 0);
  }
  ~SoftFdLimit() { setrlimit(RLIMIT_NOFILE, &old); }
};

ExecOptions script_mode() {
  ExecOptions o;
  o.mode = ExecOptions::Mode::kScript;
  return o;
}

/// Python opening `path_expr` (an f-string over len(fds)) with `flags` until
/// it fails; prints how many it opened and the error.
std::string open_until_refused(const std::string& path_expr, const std::string& flags) {
  return "import os, errno\nfds = []\ntry:\n    while True:\n        fds.append(os.open(" + path_expr + ", " +
         flags + "))\nexcept OSError as e:\n    print(len(fds), e.errno, errno.errorcode[e.errno], e.strerror)\n";
}

// A writer holds two host descriptors, a reader one. One session hoarding
// them gets EMFILE at its own budget, and the others keep opening files.
TEST(Mounts, OpenFilesAreBudgetedPerSession) {
  SoftFdLimit limit(1024);
  Tree tr;
  Session hog = new_session(tr.config());
  ExecResult r = exec_ok(hog, open_until_refused("f'/work/f{len(fds)}'", "os.O_WRONLY | os.O_CREAT"), script_mode());
  EXPECT_EQ(r.stdout_text, "128 33 EMFILE No file descriptors available\n") << r.stderr_text;  // 256 / 2

  Session other = new_session(tr.config());
  r = exec_ok(other, "print(open('/data/hello.txt').read())\n"
                     "with open('/work/mine.txt', 'w') as f: f.write('mine')\n"
                     "print(open('/work/mine.txt').read())\n");
  EXPECT_EQ(r.stdout_text, "hello\nmine\n") << r.stderr_text;

  // Closing gives them back: the same budget holds 256 readers.
  r = exec_ok(hog, "for fd in fds: os.close(fd)\n" + open_until_refused("'/data/hello.txt'", "os.O_RDONLY"),
              script_mode());
  EXPECT_EQ(r.stdout_text, "256 33 EMFILE No file descriptors available\n") << r.stderr_text;
}

// The process budget (3/4 of the soft RLIMIT_NOFILE: 768 of 1024 here) is
// shared by every session; when it is spent the guest gets ENFILE, and a
// session destroyed or rolled back gives its descriptors back.
TEST(Mounts, OpenFilesAreBudgetedPerProcessAndReleased) {
  SoftFdLimit limit(1024);
  Tree tr;
  SessionConfig c = tr.config();
  c.limits.fuel = 20'000'000;
  const std::string hoard = open_until_refused("'/data/hello.txt'", "os.O_RDONLY");
  std::vector<Session> hogs;
  for (int i = 0; i < 3; ++i) {
    hogs.push_back(new_session(c));
    ExecResult r = exec_ok(hogs.back(), hoard, script_mode());
    EXPECT_EQ(r.stdout_text, "256 33 EMFILE No file descriptors available\n") << r.stderr_text;
  }
  Session late = new_session(c);
  const std::string one = attempt("open", "len(open('/data/hello.txt').read())");
  ExecResult r = exec_ok(late, one);
  EXPECT_EQ(r.stdout_text, "open OSError ENFILE\n") << r.stderr_text;

  hogs.pop_back();  // destroyed
  r = exec_ok(late, one);
  EXPECT_EQ(r.stdout_text, "open ALLOWED 5\n") << r.stderr_text;

  // A run that traps is rolled back, and its open files closed with it.
  r = exec_ok(hogs.back(), "for fd in fds: os.close(fd)\n" + hoard + "while True: pass\n", script_mode());
  EXPECT_EQ(r.stdout_text, "256 33 EMFILE No file descriptors available\n") << r.stderr_text;
  EXPECT_EQ(r.exit_reason, ExitReason::kFuel);
  EXPECT_TRUE(r.rolled_back);
  r = exec_ok(hogs.back(), hoard, script_mode());
  EXPECT_EQ(r.stdout_text, "256 33 EMFILE No file descriptors available\n") << r.stderr_text;
}

// The private /tmp's limits, as the guest sees them.
TEST(Scratch, SizeQuotaIsEnospc) {
  SessionConfig c;
  c.limits.tmp_bytes = 100'000;
  ExecResult r = run_fresh("import os\nfd = os.open('/tmp/f', os.O_WRONLY | os.O_CREAT)\n"
                           "print(os.write(fd, b'x' * 60000))\n" +
                               attempt("more", "os.write(fd, b'x' * 60000)") +
                               "print(os.path.getsize('/tmp/f'))\n",
                           c);
  EXPECT_EQ(r.stdout_text, "60000\nmore OSError ENOSPC\n60000\n") << r.stderr_text;
}

TEST(Scratch, FileCountLimitIsEdquot) {
  SessionConfig c;
  c.limits.tmp_files = 10;
  ExecResult r = run_fresh("import os\nmade = 0\n"
                           "try:\n"
                           "    for i in range(100):\n"
                           "        open(f'/tmp/f{i}', 'w').close(); made += 1\n"
                           "except OSError as e:\n"
                           "    import errno; print(made, type(e).__name__, errno.errorcode[e.errno])\n" +
                               attempt("mkdir", "os.mkdir('/tmp/d')"),
                           c);
  EXPECT_EQ(r.stdout_text, "10 OSError EDQUOT\nmkdir OSError EDQUOT\n") << r.stderr_text;
}

TEST(Scratch, DepthLimitIsEnametoolong) {
  SessionConfig c;
  c.limits.tmp_depth = 5;
  ExecResult r = run_fresh("import os\n"
                           "os.makedirs('/tmp/a/b/c/d/e')\n" +
                               attempt("deeper", "os.mkdir('/tmp/a/b/c/d/e/f')") +
                               "print(os.path.isdir('/tmp/a/b/c/d/e'))\n",
                           c);
  EXPECT_EQ(r.stdout_text, "deeper OSError ENAMETOOLONG\nTrue\n") << r.stderr_text;
}

// A /tmp file unlinked while open is part of the session's state like any
// other: a fork, a snapshot, a rollback and every session made from one
// snapshot have their own copy of it.
TEST(Scratch, UnlinkedOpenFileIsPrivateToForksAndSnapshots) {
  SessionConfig c;
  c.limits.fuel = 20'000'000;
  Session s = new_session(c);
  ExecResult r = exec_ok(s, "import os\nfd = os.open('/tmp/gone', os.O_RDWR | os.O_CREAT)\n"
                            "os.write(fd, b'parent')\nos.unlink('/tmp/gone')\n");
  ASSERT_EQ(r.exit_reason, ExitReason::kOk) << r.stderr_text;
  const std::string read = "print(os.pread(fd, 6, 0), os.fstat(fd).st_nlink)\n";
  auto write = [](const std::string& what) { return "os.pwrite(fd, b'" + what + "', 0)\n"; };

  auto child = s.fork();
  ASSERT_TRUE(child) << child.error().message();
  EXPECT_EQ(exec_ok(*child, write("child!") + read).stdout_text, "b'child!' 0\n");
  EXPECT_EQ(exec_ok(s, read).stdout_text, "b'parent' 0\n");

  auto snap = s.snapshot();
  ASSERT_TRUE(snap) << snap.error().message();
  auto a = Session::create(testing::test_engine(), *snap, c);
  auto b = Session::create(testing::test_engine(), *snap, c);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(exec_ok(*a, write("AAAAAA") + read).stdout_text, "b'AAAAAA' 0\n");
  EXPECT_EQ(exec_ok(*b, read).stdout_text, "b'parent' 0\n");

  // A run that traps rolls back to the snapshot, its writes undone.
  r = exec_ok(s, write("trap!!") + "while True: pass\n");
  EXPECT_TRUE(r.rolled_back);
  EXPECT_EQ(exec_ok(s, read).stdout_text, "b'parent' 0\n");
  EXPECT_EQ(exec_ok(s, write("later!")).exit_reason, ExitReason::kOk);
  ASSERT_TRUE(s.restore(*snap));
  EXPECT_EQ(exec_ok(s, read).stdout_text, "b'parent' 0\n");
  EXPECT_EQ(exec_ok(*a, read).stdout_text, "b'AAAAAA' 0\n");
  EXPECT_EQ(exec_ok(*child, read).stdout_text, "b'child!' 0\n");
}

// Linux refuses new entries in a removed directory (ENOENT); were they
// allowed, they would hold /tmp's file quota with no name to remove them by.
TEST(Scratch, RemovedDirectoryTakesNoNewEntries) {
  SessionConfig c;
  c.limits.tmp_files = 10;
  ExecResult r = run_fresh("import os\nos.mkdir('/tmp/d')\nopen('/tmp/x', 'w').close()\n"
                           "dfd = os.open('/tmp/d', os.O_RDONLY)\nos.rmdir('/tmp/d')\n" +
                               attempt("create", "os.open('f', os.O_WRONLY | os.O_CREAT, dir_fd=dfd)") +
                               attempt("mkdir", "os.mkdir('sub', dir_fd=dfd)") +
                               attempt("rename", "os.rename('/tmp/x', 'x', dst_dir_fd=dfd)") +
                               attempt("link", "os.link('/tmp/x', 'y', dst_dir_fd=dfd)") +
                               "os.close(dfd)\nos.unlink('/tmp/x')\nmade = 0\n"
                               "try:\n"
                               "    for i in range(100):\n"
                               "        open(f'/tmp/f{i}', 'w').close(); made += 1\n"
                               "except OSError as e:\n"
                               "    import errno; print(made, type(e).__name__, errno.errorcode[e.errno])\n"
                               "print(sorted(os.listdir('/tmp'))[:2])\n",
                           c);
  EXPECT_EQ(r.stdout_text,
            "create FileNotFoundError ENOENT\n"
            "mkdir FileNotFoundError ENOENT\n"
            "rename FileNotFoundError ENOENT\n"
            "link FileNotFoundError ENOENT\n"
            "10 OSError EDQUOT\n"
            "['f0', 'f1']\n")
      << r.stderr_text;
}

}  // namespace
}  // namespace pycell
