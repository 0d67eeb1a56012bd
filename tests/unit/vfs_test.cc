// VFS: image loading rejects malformed archives; the in-memory tree keeps its quota.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "vfs/image_fs.h"
#include "vfs/mem_fs.h"

namespace pycell::vfs {
namespace {

std::string temp_file(const std::string& contents) {
  char path[] = "/tmp/pycell-vfs-XXXXXX";
  int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  std::FILE* f = fdopen(fd, "wb");
  std::fwrite(contents.data(), 1, contents.size(), f);
  std::fclose(f);
  return path;
}

TEST(ImageFs, MissingImageIsNotFound) {
  auto r = load_images({"/nonexistent/pycell.tar"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kNotFound);
}

TEST(ImageFs, GarbageIsCorrupt) {
  std::string path = temp_file(std::string(2048, 'x'));
  auto r = load_images({path});
  std::remove(path.c_str());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kCorrupt);
}

TEST(ImageFs, TruncatedArchiveIsCorrupt) {
  std::ifstream in(PYCELL_TEST_STDLIB, std::ios::binary);
  std::string head(4096, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  std::string path = temp_file(head.substr(0, 1000));
  auto r = load_images({path});
  std::remove(path.c_str());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kCorrupt);
}

TEST(ImageFs, StdlibImageServesFilesReadOnly) {
  auto r = load_images({PYCELL_TEST_STDLIB});
  ASSERT_TRUE(r) << r.error().message();
  auto os_py = (*r)->lookup("os.py");
  ASSERT_TRUE(os_py);
  EXPECT_EQ(os_py.value->kind(), Kind::kFile);
  EXPECT_FALSE(os_py.value->writable());
  uint8_t buf[16];
  auto n = os_py.value->pread(0, buf);
  ASSERT_TRUE(n);
  EXPECT_EQ(n.value, sizeof buf);
  const uint8_t data[1] = {'x'};
  EXPECT_EQ(os_py.value->pwrite(0, data).err, Errno::kRofs);
  EXPECT_EQ(os_py.value->truncate(0), Errno::kRofs);
  EXPECT_EQ((*r)->create("new.py", Kind::kFile).err, Errno::kRofs);
  EXPECT_EQ((*r)->remove("os.py", Kind::kFile), Errno::kRofs);
  EXPECT_EQ((*r)->lookup("no_such_module.py").err, Errno::kNoent);
}

TEST(MemFs, QuotaCountsBytesAndReleasesThemOnRemove) {
  auto q = std::make_shared<MemQuota>();
  q->max_bytes = 10;
  q->max_files = 4;
  q->max_depth = 2;
  auto root = make_mem_root(q);
  auto f = root->create("f", Kind::kFile);
  ASSERT_TRUE(f);
  const uint8_t data[8] = {};
  EXPECT_TRUE(f.value->pwrite(0, data));
  EXPECT_EQ(q->used_bytes, 8u);
  EXPECT_EQ(f.value->pwrite(8, data).err, Errno::kNospc);
  EXPECT_EQ(f.value->pwrite(UINT64_MAX - 2, data).err, Errno::kFbig);
  EXPECT_EQ(root->remove("f", Kind::kFile), Errno::kSuccess);
  f = {Errno::kNoent};  // drop the last reference
  EXPECT_EQ(q->used_bytes, 0u);
  EXPECT_EQ(q->files, 0u);
}

TEST(MemFs, RenameReplacesFilesAndKeepsDepthBounded) {
  auto q = std::make_shared<MemQuota>();
  q->max_bytes = 100;
  q->max_files = 10;
  q->max_depth = 2;
  auto root = make_mem_root(q);
  ASSERT_TRUE(root->create("a", Kind::kFile));
  ASSERT_TRUE(root->create("b", Kind::kFile));
  EXPECT_EQ(root->rename("a", *root, "b"), Errno::kSuccess);
  EXPECT_EQ(root->lookup("a").err, Errno::kNoent);
  EXPECT_EQ(q->files, 1u);
  auto d1 = root->create("d1", Kind::kDirectory);
  auto d2 = root->create("d2", Kind::kDirectory);
  ASSERT_TRUE(d1.value->create("sub", Kind::kDirectory));
  // d1 (height 1) moved under d2 (depth 1) would reach depth 3.
  EXPECT_EQ(root->rename("d1", *d2.value, "x"), Errno::kNametoolong);
  EXPECT_EQ(root->rename("d2", *d1.value, "x"), Errno::kSuccess);
}

std::shared_ptr<MemQuota> mem_quota(uint64_t bytes, uint64_t files) {
  auto q = std::make_shared<MemQuota>();
  q->max_bytes = bytes;
  q->max_files = files;
  q->max_depth = 4;
  return q;
}

std::span<const uint8_t> bytes(std::string_view s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

std::string read_all(const Node& n) {
  std::string out(n.stat().size, '\0');
  EXPECT_TRUE(n.pread(0, std::span(reinterpret_cast<uint8_t*>(out.data()), out.size())));
  return out;
}

// Entries made in a removed directory could never be reached or removed
// again, and would hold the file quota for good: like Linux, ENOENT.
TEST(MemFs, RemovedDirectoryTakesNoNewEntries) {
  auto q = mem_quota(100, 10);
  auto root = make_mem_root(q);
  auto d = root->create("d", Kind::kDirectory);
  auto f = root->create("f", Kind::kFile);
  ASSERT_TRUE(d && f);
  ASSERT_EQ(root->remove("d", Kind::kDirectory), Errno::kSuccess);
  EXPECT_EQ(d.value->create("x", Kind::kFile).err, Errno::kNoent);
  EXPECT_EQ(d.value->create("x", Kind::kDirectory).err, Errno::kNoent);
  EXPECT_EQ(d.value->link("x", f.value), Errno::kNoent);
  EXPECT_EQ(root->rename("f", *d.value, "x"), Errno::kNoent);
  EXPECT_EQ(q->files, 1u);
  // A directory replaced by a rename is removed too.
  auto e = root->create("e", Kind::kDirectory);
  ASSERT_TRUE(e && root->create("g", Kind::kDirectory));
  ASSERT_EQ(root->rename("g", *root, "e"), Errno::kSuccess);
  EXPECT_EQ(e.value->create("x", Kind::kFile).err, Errno::kNoent);
  EXPECT_EQ(q->files, 2u);
}

TEST(MemFs, CopyDetachedCopiesARemovedOpenFileOnce) {
  auto q = mem_quota(100, 10);
  auto root = make_mem_root(q);
  auto f = root->create("f", Kind::kFile);
  ASSERT_TRUE(f && f.value->pwrite(0, bytes("data")));
  auto kept = root->create("kept", Kind::kFile);
  ASSERT_TRUE(kept);
  ASSERT_EQ(root->remove("f", Kind::kFile), Errno::kSuccess);

  auto q2 = mem_quota(100, 10);
  NodeMap map;
  ASSERT_TRUE(copy_mem_tree(*root, q2, map));
  auto c1 = copy_detached(*f.value, q2, map);
  auto c2 = copy_detached(*f.value, q2, map);
  ASSERT_TRUE(c1 && c2 && c1.value);
  EXPECT_EQ(c1.value, c2.value);  // two fds on one file: one copy
  EXPECT_NE(c1.value, f.value);
  EXPECT_EQ(c1.value->stat().nlink, 0u);
  EXPECT_EQ(read_all(*c1.value), "data");
  EXPECT_EQ(q2->used_bytes, 4u);
  EXPECT_EQ(q2->files, 1u);  // "kept"; the unnamed copy takes no entry
  ASSERT_TRUE(c1.value->pwrite(0, bytes("DATA")));
  EXPECT_EQ(read_all(*f.value), "data");

  // A node the tree copy reached maps to its copy; other kinds are not copied.
  EXPECT_EQ(copy_detached(*kept.value, q2, map).value, map.at(kept.value.get()));
  auto stat_dir = std::make_shared<StaticDir>();
  auto none = copy_detached(*stat_dir, q2, map);
  EXPECT_TRUE(none);
  EXPECT_EQ(none.value, nullptr);
  // The copy's bytes are charged like any others.
  NodeMap map3;
  EXPECT_EQ(copy_detached(*f.value, mem_quota(3, 10), map3).err, Errno::kNospc);
}

TEST(MemFs, CopyDetachedKeepsARemovedDirectoryRemoved) {
  auto root = make_mem_root(mem_quota(100, 10));
  auto d = root->create("d", Kind::kDirectory);
  ASSERT_TRUE(d);
  ASSERT_EQ(root->remove("d", Kind::kDirectory), Errno::kSuccess);
  auto q2 = mem_quota(100, 10);
  NodeMap map;
  auto c = copy_detached(*d.value, q2, map);
  ASSERT_TRUE(c && c.value);
  EXPECT_NE(c.value, d.value);
  EXPECT_EQ(c.value->create("x", Kind::kFile).err, Errno::kNoent);
  EXPECT_EQ(q2->files, 0u);
}

}  // namespace
}  // namespace pycell::vfs
