// Host directory filesystem at the VFS level: resolution stays beneath the
// mount, read-only mounts refuse every mutation, writes are published whole
// at close (or never), and the write quota counts every byte.
#include <fcntl.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "host_dir_support.h"
#include "vfs/fd_budget.h"
#include "vfs/host_fs.h"
#include "vfs/mem_fs.h"

namespace pycell::vfs {
namespace {

namespace fs = std::filesystem;

using testing::get;
using testing::host_names;
using testing::put;
using testing::TempDir;
std::span<const uint8_t> bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
std::string read_all(Node& n) {
  std::string out(n.stat().size, '\0');
  auto r = n.pread(0, std::span(reinterpret_cast<uint8_t*>(out.data()), out.size()));
  EXPECT_TRUE(r);
  out.resize(r.value);
  return out;
}

std::shared_ptr<WriteQuota> quota(uint64_t max = 1 << 20) {
  auto q = std::make_shared<WriteQuota>();
  q->max_bytes = max;
  return q;
}

std::shared_ptr<FdBudget> fd_budget(uint64_t max = 64) {
  auto b = std::make_shared<FdBudget>();
  b->max = max;
  return b;
}

std::shared_ptr<Node> mount(const fs::path& p, bool writable, std::shared_ptr<WriteQuota> q = quota(),
                            std::shared_ptr<FdBudget> fds = fd_budget()) {
  auto r = open_host_dir(p, writable, std::move(q), std::move(fds));
  EXPECT_TRUE(r) << r.error().message();
  return *r;
}

/// Resolves a '/'-separated path below `root` one component at a time, as the
/// WASI resolver does.
Res<std::shared_ptr<Node>> walk(std::shared_ptr<Node> root, const std::string& path) {
  std::shared_ptr<Node> at = std::move(root);
  std::stringstream ss(path);
  for (std::string comp; std::getline(ss, comp, '/');) {
    auto next = at->lookup(comp);
    if (!next) return next.err;
    at = next.value;
  }
  return at;
}

TEST(HostFs, MissingOrNonDirectoryHostPathIsNotFound) {
  TempDir t;
  put(t.path / "file", "x");
  auto missing = open_host_dir(t.path / "nope", false, quota(), fd_budget());
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  auto file = open_host_dir(t.path / "file", false, quota(), fd_budget());
  ASSERT_FALSE(file);
  EXPECT_EQ(file.error().code(), ErrorCode::kNotFound);
}

TEST(HostFs, ReadsFilesAndListsDirectoriesSorted) {
  TempDir t;
  fs::create_directory(t.path / "sub");
  put(t.path / "sub" / "b.txt", "bee");
  put(t.path / "a.txt", "hello");
  auto root = mount(t.path, false);
  auto list = root->list();
  ASSERT_TRUE(list);
  ASSERT_EQ(list.value.size(), 2u);
  EXPECT_EQ(list.value[0].name, "a.txt");
  EXPECT_EQ(list.value[0].kind, Kind::kFile);
  EXPECT_EQ(list.value[1].name, "sub");
  EXPECT_EQ(list.value[1].kind, Kind::kDirectory);
  auto b = walk(root, "sub/b.txt");
  ASSERT_TRUE(b);
  EXPECT_EQ(b.value->stat().size, 3u);
  EXPECT_EQ(list.value[1].ino, root->lookup("sub").value->stat().ino);
  auto opened = b.value->open(false, false);
  ASSERT_TRUE(opened);
  EXPECT_EQ(read_all(*opened.value), "bee");
  EXPECT_TRUE(is_host_node(*opened.value));
  EXPECT_TRUE(is_host_node(*root));
  EXPECT_EQ(root->lookup("missing").err, Errno::kNoent);
  EXPECT_EQ(walk(root, "a.txt/x").err, Errno::kNotdir);
}

// The WASI resolver walks ".." over its own node stack; should one reach a
// host directory anyway, it is refused rather than handed to the host.
TEST(HostFs, RefusesDotDotEscape) {
  TempDir t;
  fs::create_directory(t.path / "in");
  put(t.path / "secret", "outside");
  auto in = mount(t.path / "in", false);
  EXPECT_EQ(in->lookup("..").err, Errno::kInval);
  EXPECT_EQ(in->lookup(".").err, Errno::kInval);
  EXPECT_EQ(in->lookup("../secret").err, Errno::kInval);
  EXPECT_EQ(in->lookup("").err, Errno::kInval);
}

TEST(HostFs, SymlinksAreFollowedOnlyInsideTheMount) {
  TempDir t;
  fs::create_directory(t.path / "in");
  fs::create_directory(t.path / "in" / "d");
  fs::create_directory(t.path / "out");
  put(t.path / "out" / "secret", "outside");
  put(t.path / "in" / "d" / "ok", "inside");
  fs::create_symlink(t.path / "out", t.path / "in" / "abs");             // absolute
  fs::create_symlink("../out", t.path / "in" / "rel");                    // climbs out
  fs::create_symlink("d/../../out/secret", t.path / "in" / "sneaky");     // in, then out
  fs::create_symlink("chain2", t.path / "in" / "chain1");                 // a chain that ends outside
  fs::create_symlink("../out/secret", t.path / "in" / "chain2");
  fs::create_symlink("d/ok", t.path / "in" / "good");                     // stays inside
  fs::create_symlink("/proc/self/root/etc/passwd", t.path / "in" / "magic");
  fs::create_symlink("loop2", t.path / "in" / "loop1");
  fs::create_symlink("loop1", t.path / "in" / "loop2");
  auto in = mount(t.path / "in", true);
  EXPECT_EQ(in->lookup("abs").err, Errno::kNotcapable);
  EXPECT_EQ(walk(in, "rel/secret").err, Errno::kNotcapable);
  EXPECT_EQ(in->lookup("sneaky").err, Errno::kNotcapable);
  EXPECT_EQ(in->lookup("chain1").err, Errno::kNotcapable);
  EXPECT_EQ(in->lookup("magic").err, Errno::kNotcapable);
  EXPECT_EQ(in->lookup("loop1").err, Errno::kLoop);
  auto good = in->lookup("good");
  ASSERT_TRUE(good);
  auto opened = good.value->open(false, false);
  ASSERT_TRUE(opened);
  EXPECT_EQ(read_all(*opened.value), "inside");
  // Listings show only what a lookup would reach.
  auto list = in->list();
  ASSERT_TRUE(list);
  std::vector<std::string> names;
  for (const auto& e : list.value) names.push_back(e.name);
  EXPECT_EQ(names, (std::vector<std::string>{"d", "good"}));
  // Writing through a symlink would replace the link: refused like O_NOFOLLOW.
  EXPECT_EQ(good.value->open(true, false).err, Errno::kLoop);
  EXPECT_EQ(get(t.path / "in" / "d" / "ok"), "inside");
}

// open(O_CREAT) through a dangling symlink would create its target. One that
// points outside is refused like any escape; for one that points inside, a
// new file is created by rename, which replaces the link.
TEST(HostFs, CreatingThroughADanglingSymlinkNeverCreatesItsTarget) {
  TempDir t;
  fs::create_directory(t.path / "in");
  fs::create_directory(t.path / "out");
  fs::create_symlink("../out/created", t.path / "in" / "dangling_out");
  fs::create_symlink("nowhere/created", t.path / "in" / "dangling_in");
  auto in = mount(t.path / "in", true);
  EXPECT_EQ(in->lookup("dangling_out").err, Errno::kNotcapable);
  EXPECT_EQ(in->lookup("dangling_in").err, Errno::kNoent);
  auto created = in->create("dangling_in", Kind::kFile);
  ASSERT_TRUE(created);
  auto w = created.value->open(true, false);
  ASSERT_TRUE(w);
  ASSERT_TRUE(w.value->pwrite(0, bytes("data")));
  EXPECT_EQ(w.value->close(), Errno::kSuccess);
  EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(t.path / "in" / "dangling_in")));
  EXPECT_EQ(get(t.path / "in" / "dangling_in"), "data");
  EXPECT_FALSE(fs::exists(t.path / "in" / "nowhere"));
  EXPECT_TRUE(fs::is_empty(t.path / "out"));
}

TEST(HostFs, FifosSocketsAndDevicesAreNotExposed) {
  TempDir t;
  ASSERT_EQ(mkfifo((t.path / "fifo").c_str(), 0600), 0);
  fs::create_symlink("/dev/null", t.path / "null");
  int sock = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string sock_path = t.path / "sock";
  ASSERT_LT(sock_path.size(), sizeof addr.sun_path);
  std::memcpy(addr.sun_path, sock_path.c_str(), sock_path.size() + 1);
  ASSERT_EQ(bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  close(sock);
  auto root = mount(t.path, true);
  EXPECT_EQ(root->lookup("fifo").err, Errno::kNotsup);
  EXPECT_EQ(root->lookup("sock").err, Errno::kNotsup);
  EXPECT_EQ(root->create("fifo", Kind::kDirectory).err, Errno::kExist);
  EXPECT_EQ(root->lookup("null").err, Errno::kNotcapable);
  auto list = root->list();
  ASSERT_TRUE(list);
  EXPECT_TRUE(list.value.empty());
}

TEST(HostFs, ReadOnlyMountRefusesEveryMutation) {
  TempDir t;
  put(t.path / "f", "keep");
  fs::create_directory(t.path / "d");
  auto root = mount(t.path, false);
  auto f = root->lookup("f");
  ASSERT_TRUE(f);
  EXPECT_FALSE(f.value->writable());
  EXPECT_EQ(f.value->open(true, false).err, Errno::kRofs);
  EXPECT_EQ(f.value->open(false, true).err, Errno::kRofs);  // O_TRUNC
  EXPECT_EQ(f.value->set_times(1, 1), Errno::kRofs);
  EXPECT_EQ(root->create("new", Kind::kFile).err, Errno::kRofs);
  EXPECT_EQ(root->create("newdir", Kind::kDirectory).err, Errno::kRofs);
  EXPECT_EQ(root->remove("f", Kind::kFile), Errno::kRofs);
  EXPECT_EQ(root->remove("d", Kind::kDirectory), Errno::kRofs);
  EXPECT_EQ(root->rename("f", *root, "g"), Errno::kRofs);
  EXPECT_EQ(root->link("g", f.value), Errno::kRofs);
  auto reader = f.value->open(false, false);
  ASSERT_TRUE(reader);
  EXPECT_EQ(reader.value->pwrite(0, bytes("x")).err, Errno::kRofs);
  EXPECT_EQ(reader.value->truncate(0), Errno::kRofs);
  EXPECT_EQ(reader.value->set_times(1, 1), Errno::kRofs);
  EXPECT_EQ(get(t.path / "f"), "keep");
  EXPECT_EQ(host_names(t.path), (std::vector<std::string>{"d", "f"}));
}

TEST(HostFs, WriteIsPublishedWholeAtClose) {
  TempDir t;
  put(t.path / "f", "old content");
  ASSERT_EQ(chmod((t.path / "f").c_str(), 0640), 0);
  auto root = mount(t.path, true);
  auto w = root->lookup("f").value->open(true, false);
  ASSERT_TRUE(w);
  EXPECT_EQ(read_all(*w.value), "old content");  // a copy of the target
  ASSERT_TRUE(w.value->pwrite(0, bytes("new")));
  EXPECT_EQ(read_all(*w.value), "new content");
  // Until close, the host (and any other reader) sees the old file, and the
  // guest does not see the temporary one.
  EXPECT_EQ(get(t.path / "f"), "old content");
  EXPECT_EQ(root->list().value.size(), 1u);
  EXPECT_EQ(w.value->close(), Errno::kSuccess);
  EXPECT_EQ(get(t.path / "f"), "new content");
  EXPECT_EQ(fs::status(t.path / "f").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  w.value.reset();
  EXPECT_EQ(host_names(t.path), std::vector<std::string>{"f"});
}

TEST(HostFs, UnclosedWriteLeavesTheOldFileAndNoTemporary) {
  TempDir t;
  put(t.path / "f", "old");
  auto root = mount(t.path, true);
  {
    auto w = root->lookup("f").value->open(true, true);  // O_TRUNC
    ASSERT_TRUE(w);
    EXPECT_EQ(w.value->stat().size, 0u);
    ASSERT_TRUE(w.value->pwrite(0, bytes("torn")));
    EXPECT_EQ(host_names(t.path).size(), 2u);  // f and the temporary file
    EXPECT_EQ(get(t.path / "f"), "old");
  }  // dropped without close(): a trap, a rollback or the session's end
  EXPECT_EQ(get(t.path / "f"), "old");
  EXPECT_EQ(host_names(t.path), std::vector<std::string>{"f"});
}

TEST(HostFs, NewFileAppearsOnlyAtClose) {
  TempDir t;
  auto root = mount(t.path, true);
  auto created = root->create("new", Kind::kFile);
  ASSERT_TRUE(created);
  auto w = created.value->open(true, false);
  ASSERT_TRUE(w);
  ASSERT_TRUE(w.value->pwrite(0, bytes("fresh")));
  EXPECT_FALSE(fs::exists(t.path / "new"));
  EXPECT_EQ(root->lookup("new").err, Errno::kNoent);
  EXPECT_EQ(w.value->close(), Errno::kSuccess);
  EXPECT_EQ(get(t.path / "new"), "fresh");
  // Abandoned before close: nothing appears.
  auto other = root->create("never", Kind::kFile).value->open(true, false);
  ASSERT_TRUE(other);
  other.value.reset();
  EXPECT_EQ(host_names(t.path), std::vector<std::string>{"new"});
}

TEST(HostFs, TemporaryNamesAreHiddenAndReserved) {
  TempDir t;
  put(t.path / (std::string(kMountTempPrefix) + "planted"), "x");
  auto root = mount(t.path, true);
  EXPECT_TRUE(root->list().value.empty());
  const std::string name = std::string(kMountTempPrefix) + "planted";
  EXPECT_EQ(root->lookup(name).err, Errno::kNoent);
  EXPECT_EQ(root->create(std::string(kMountTempPrefix) + "x", Kind::kFile).err, Errno::kPerm);
  EXPECT_EQ(root->remove(name, Kind::kFile), Errno::kNoent);
}

TEST(HostFs, WriteQuotaCountsEveryByteAndRefusesWholeWrites) {
  TempDir t;
  put(t.path / "f", std::string(1000, 'a'));
  auto q = quota(kMountEntryCost + 3000);
  auto root = mount(t.path, true, q);
  EXPECT_TRUE(root->create("d", Kind::kDirectory));  // a new entry costs kMountEntryCost
  auto w = root->lookup("f").value->open(true, false);  // the private copy: 1000
  ASSERT_TRUE(w);
  EXPECT_EQ(q->used_bytes, kMountEntryCost + 1000);
  const std::string chunk(800, 'b');
  EXPECT_EQ(w.value->pwrite(0, bytes(chunk)).value, 800u);     // an overwrite counts too
  EXPECT_EQ(w.value->pwrite(0, bytes(chunk)).value, 800u);
  EXPECT_EQ(q->used_bytes, kMountEntryCost + 2600);
  EXPECT_EQ(w.value->pwrite(0, bytes(chunk)).err, Errno::kDquot);  // 400 left: nothing written
  EXPECT_EQ(w.value->truncate(1401), Errno::kDquot);             // growth of 401
  EXPECT_EQ(w.value->truncate(1400), Errno::kSuccess);
  EXPECT_EQ(q->used_bytes, q->max_bytes);
  EXPECT_EQ(w.value->truncate(10), Errno::kSuccess);              // shrinking is free
  EXPECT_EQ(w.value->pwrite(0, bytes("x")).err, Errno::kDquot);
  EXPECT_EQ(w.value->close(), Errno::kSuccess);
  EXPECT_EQ(get(t.path / "f"), std::string(10, 'b'));
  EXPECT_EQ(root->create("e", Kind::kDirectory).err, Errno::kDquot);
  // Opening a file to modify it copies it: refused if the copy does not fit.
  EXPECT_EQ(root->lookup("f").value->open(true, false).err, Errno::kDquot);
  EXPECT_TRUE(root->lookup("f").value->open(true, true));  // O_TRUNC copies nothing
}

TEST(HostFs, RenamesAndLinksStayInsideOneMount) {
  TempDir t;
  fs::create_directory(t.path / "ro");
  fs::create_directory(t.path / "rw");
  fs::create_directory(t.path / "rw" / "sub");
  put(t.path / "ro" / "f", "ro");
  put(t.path / "rw" / "g", "rw");
  auto q = quota();
  auto ro = mount(t.path / "ro", false, q);
  auto rw = mount(t.path / "rw", true, q);
  auto rw_again = mount(t.path / "rw", true, q);  // the same directory mounted twice is two mounts
  auto tmp = make_mem_root(unbounded_quota());
  auto f = ro->lookup("f").value;
  auto g = rw->lookup("g").value;
  EXPECT_EQ(rw->link("f-link", f), Errno::kXdev);
  EXPECT_EQ(ro->rename("f", *rw, "f-moved"), Errno::kXdev);
  EXPECT_EQ(rw->rename("g", *ro, "g"), Errno::kXdev);
  EXPECT_EQ(rw->rename("g", *tmp, "g"), Errno::kXdev);
  EXPECT_EQ(rw->rename("g", *rw_again, "g2"), Errno::kXdev);
  EXPECT_EQ(tmp->link("g", g), Errno::kXdev);
  EXPECT_EQ(rw->link("g", ro), Errno::kPerm);  // a directory
  EXPECT_EQ(host_names(t.path / "rw"), (std::vector<std::string>{"g", "sub"}));
  // Within the mount they work.
  auto sub = rw->lookup("sub").value;
  EXPECT_EQ(rw->rename("g", *sub, "h"), Errno::kSuccess);
  EXPECT_EQ(get(t.path / "rw" / "sub" / "h"), "rw");
  EXPECT_EQ(rw->link("l", walk(rw, "sub/h").value), Errno::kSuccess);
  EXPECT_EQ(get(t.path / "rw" / "l"), "rw");
  EXPECT_EQ(fs::hard_link_count(t.path / "rw" / "l"), 2u);
  EXPECT_EQ(sub->remove("h", Kind::kFile), Errno::kSuccess);
  EXPECT_EQ(rw->remove("sub", Kind::kDirectory), Errno::kSuccess);
  EXPECT_EQ(get(t.path / "ro" / "f"), "ro");
}

TEST(HostFs, SetsTimesOnlyOnReadWriteMounts) {
  TempDir t;
  put(t.path / "f", "x");
  auto rw = mount(t.path, true);
  const uint64_t when = 1'000'000'000ull * 1'600'000'000ull;
  EXPECT_EQ(rw->lookup("f").value->set_times(std::nullopt, when), Errno::kSuccess);
  struct stat s{};
  ASSERT_EQ(stat((t.path / "f").c_str(), &s), 0);
  EXPECT_EQ(s.st_mtim.tv_sec, 1'600'000'000);
  EXPECT_EQ(rw->lookup("f").value->stat().mtime_ns, when);
  auto ro = mount(t.path, false);
  EXPECT_EQ(ro->lookup("f").value->set_times(std::nullopt, 0), Errno::kRofs);
  ASSERT_EQ(stat((t.path / "f").c_str(), &s), 0);
  EXPECT_EQ(s.st_mtim.tv_sec, 1'600'000'000);
}

// A host process swaps a directory of the mount with a symlink to a directory
// outside it, as fast as it can, while files under it are opened and read.
TEST(HostFs, DirectorySwappedForSymlinkNeverLeadsOutside) {
  TempDir t;
  fs::create_directories(t.path / "in" / "swap");
  fs::create_directory(t.path / "out");
  put(t.path / "in" / "swap" / "f", "inside");
  put(t.path / "out" / "f", "OUTSIDE-MARKER");
  fs::create_symlink("../out", t.path / "in" / "spare");
  auto root = mount(t.path / "in", false);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> swaps{0};
  const std::string a = t.path / "in" / "swap", b = t.path / "in" / "spare";
  std::thread swapper([&] {
    while (!stop) {
      if (renameat2(AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), RENAME_EXCHANGE) == 0) ++swaps;
    }
  });
  std::map<std::string, int> seen;
  for (int i = 0; i < 20000; ++i) {
    auto f = walk(root, "swap/f");
    if (!f) {
      ++seen["errno " + std::to_string(static_cast<int>(f.err))];
      continue;
    }
    auto opened = f.value->open(false, false);
    ++seen[opened ? read_all(*opened.value) : "errno " + std::to_string(static_cast<int>(opened.err))];
  }
  stop = true;
  swapper.join();
  EXPECT_GT(swaps.load(), 0u);
  EXPECT_EQ(seen.count("OUTSIDE-MARKER"), 0u);
  EXPECT_GT(seen["inside"], 0);
  for (const auto& [what, n] : seen) {
    EXPECT_TRUE(what == "inside" || what == "errno 76" || what == "errno 10") << what;  // ENOTCAPABLE, EBUSY
  }
}

TEST(HostFs, HostInodesDoNotCollideWithInMemoryOnes) {
  TempDir t;
  put(t.path / "f", "x");
  auto root = mount(t.path, false);
  EXPECT_GE(root->lookup("f").value->stat().ino, 1ull << 63);
  EXPECT_LT(next_ino(), 1ull << 63);
}

TEST(HostFs, OpenFilesLeaseHostDescriptorsUntilDropped) {
  TempDir t;
  put(t.path / "a.txt", "aaa");
  auto fds = fd_budget(3);
  auto root = mount(t.path, true, quota(), fds);
  auto a = root->lookup("a.txt");
  ASSERT_TRUE(a);
  const uint64_t held = process_fds_held();
  auto reader = a.value->open(false, false);
  ASSERT_TRUE(reader);
  EXPECT_EQ(fds->used, 1u);
  auto writer = a.value->open(true, false);  // its copy and its directory
  ASSERT_TRUE(writer);
  EXPECT_EQ(fds->used, 3u);
  EXPECT_EQ(process_fds_held(), held + 3);
  EXPECT_EQ(a.value->open(false, false).err, Errno::kMfile);
  auto created = root->create("new.txt", Kind::kFile);
  ASSERT_TRUE(created);
  EXPECT_EQ(created.value->open(true, false).err, Errno::kMfile);
  EXPECT_EQ(host_names(t.path).size(), 2u);  // a.txt and the open writer's copy: none for the refused one

  writer = {Errno::kBadf};  // dropped unclosed
  EXPECT_EQ(host_names(t.path), std::vector<std::string>{"a.txt"});
  EXPECT_EQ(fds->used, 1u);
  EXPECT_EQ(process_fds_held(), held + 1);
  reader = {Errno::kBadf};
  EXPECT_EQ(fds->used, 0u);
  EXPECT_EQ(process_fds_held(), held);
}

}  // namespace
}  // namespace pycell::vfs
