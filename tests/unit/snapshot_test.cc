// Snapshots: restore, fork, serialization, integrity checks, and isolation of
// memory between sessions that share a snapshot's pages.
#include "pycell/snapshot.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <cstring>

#include "rt/guest_memory.h"
#include "test_support.h"

namespace pycell {
namespace {

using testing::new_session;

std::string value(Session& s, const std::string& code) {
  auto r = s.exec(code);
  EXPECT_TRUE(r) << (r ? "" : r.error().message());
  if (!r) return "";
  EXPECT_EQ(r->exit_reason, ExitReason::kOk) << r->stderr_text;
  return r->value_repr.value_or("None");
}

TEST(Snapshot, RestoreReturnsVariablesAndFiles) {
  Session s = new_session();
  value(s, "x = 1\nopen('/tmp/f', 'w').write('one')");
  auto snap = s.snapshot();
  ASSERT_TRUE(snap);
  value(s, "x = 2\nopen('/tmp/f', 'w').write('two')\nopen('/tmp/g', 'w').close()");
  ASSERT_TRUE(s.restore(*snap));
  EXPECT_EQ(value(s, "import os\n(x, open('/tmp/f').read(), sorted(os.listdir('/tmp')))"), "(1, 'one', ['f'])");
}

TEST(Snapshot, LoadedRootPreopenBecomesTheNewSessionsRoot) {
  // A snapshot names the root preopen with a null node; loading it must map
  // that to the new session's root without dereferencing it (it did, which
  // UBSan reports as a reference bound to a null pointer on every load).
  Session s = new_session();
  value(s, "open('/tmp/r', 'w').write('root')");
  auto snap = s.snapshot();
  ASSERT_TRUE(snap);
  auto bytes = snap->serialize();
  ASSERT_TRUE(bytes);
  auto loaded = Snapshot::deserialize(*bytes);
  ASSERT_TRUE(loaded) << loaded.error().message();
  auto t = Session::create(testing::test_engine(), *loaded, {});
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(value(*t, "import os\n(open('/tmp/r').read(), 'tmp' in os.listdir('/'))"), "('root', True)");
}

TEST(Snapshot, ForkDivergesFromItsParent) {
  Session parent = new_session();
  value(parent, "items = [1, 2]\nopen('/tmp/shared', 'w').write('p')");
  auto child = parent.fork();
  ASSERT_TRUE(child) << child.error().message();
  value(*child, "items.append('child')\nopen('/tmp/shared', 'w').write('c')");
  value(parent, "items.append('parent')");
  EXPECT_EQ(value(parent, "(items, open('/tmp/shared').read())"), "([1, 2, 'parent'], 'p')");
  EXPECT_EQ(value(*child, "(items, open('/tmp/shared').read())"), "([1, 2, 'child'], 'c')");
}

TEST(Snapshot, ManySessionsFromOneSnapshotAreIndependent) {
  Session maker = new_session();
  value(maker, "counter = 0");
  auto snap = maker.snapshot();
  ASSERT_TRUE(snap);
  std::vector<Session> sessions;
  for (int i = 0; i < 8; ++i) {
    auto s = Session::create(testing::test_engine(), *snap, {});
    ASSERT_TRUE(s) << s.error().message();
    sessions.push_back(std::move(*s));
  }
  for (int i = 0; i < 8; ++i) value(sessions[i], "counter += " + std::to_string(i + 1));
  for (int i = 0; i < 8; ++i) EXPECT_EQ(value(sessions[i], "counter"), std::to_string(i + 1));
}

TEST(Snapshot, SerializationRoundTripsState) {
  Session s = new_session();
  value(s, "import os\ndata = {'k': [1, 2, 3]}\nos.mkdir('/tmp/d')\nopen('/tmp/d/f', 'w').write('payload')\n"
           "os.link('/tmp/d/f', '/tmp/link')\nkeep = open('/tmp/d/f')");
  auto snap = s.snapshot();
  ASSERT_TRUE(snap);
  auto bytes = snap->serialize();
  ASSERT_TRUE(bytes) << bytes.error().message();
  auto loaded = Snapshot::deserialize(*bytes);
  ASSERT_TRUE(loaded) << loaded.error().message();
  EXPECT_EQ(loaded->memory_bytes(), snap->memory_bytes());
  auto t = Session::create(testing::test_engine(), *loaded, {});
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(value(*t, "(data, keep.read(), os.stat('/tmp/link').st_nlink)"), "({'k': [1, 2, 3]}, 'payload', 2)");
}

TEST(Snapshot, CorruptedBytesAreRejected) {
  Session s = new_session();
  auto bytes = s.snapshot()->serialize();
  ASSERT_TRUE(bytes);
  std::string flipped = *bytes;
  flipped[flipped.size() / 2] ^= 0x01;
  auto r = Snapshot::deserialize(flipped);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kCorrupt);
  EXPECT_NE(r.error().message().find("checksum"), std::string::npos);

  r = Snapshot::deserialize(std::string_view(*bytes).substr(0, bytes->size() - 1000));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kCorrupt);

  r = Snapshot::deserialize("definitely not a snapshot");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kCorrupt);
  EXPECT_EQ(r.error().message(), "not a pycell snapshot");
}

TEST(Snapshot, ForeignBuildIsRejected) {
  Session s = new_session();
  auto bytes = s.snapshot()->serialize();
  ASSERT_TRUE(bytes);
  // Another build: a different id, with a checksum that is valid for it.
  std::string other = bytes->substr(0, bytes->size() - 32);
  other[12] = other[12] == 'a' ? 'b' : 'a';
  unsigned char hash[32];
  unsigned int len = 0;
  ASSERT_EQ(EVP_Digest(other.data(), other.size(), hash, &len, EVP_sha256(), nullptr), 1);
  auto r = Snapshot::deserialize(other + std::string(reinterpret_cast<char*>(hash), len));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message().find("another pycell build"), std::string::npos);
}

TEST(Snapshot, SessionsSharingPagesNeverSeeEachOthersWrites) {
  // Two memories mapped from one image: a write in one is invisible to the other.
  std::vector<uint8_t> bytes(4 * rt::kWasmPageBytes, 0);
  std::memcpy(bytes.data() + 100, "original", 8);
  auto image = rt::MemoryImage::create(bytes.data(), bytes.size());
  ASSERT_TRUE(image);
  auto a = rt::GuestMemory::create(*image, 1 << 20);
  auto b = rt::GuestMemory::create(*image, 1 << 20);
  ASSERT_TRUE(a && b);
  ASSERT_TRUE((*a)->store_bytes(100, "secret!!", 8));
  ASSERT_TRUE((*a)->store_bytes(3 * rt::kWasmPageBytes, "zeropage", 8));
  std::string seen(8, '\0');
  (*b)->read(*(*b)->span(100, 8), seen.data());
  EXPECT_EQ(seen, "original");
  (*b)->read(*(*b)->span(3 * rt::kWasmPageBytes, 8), seen.data());
  EXPECT_EQ(seen, std::string(8, '\0'));
  // And a fresh session never sees another session's data.
  Session s1 = new_session();
  value(s1, "secret = 'x' * 1000");
  Session s2 = new_session();
  EXPECT_EQ(value(s2, "'secret' in globals()"), "False");
}

TEST(Snapshot, EngineWithoutPreinitStartsColdAndStillSnapshots) {
  EngineConfig c;
  c.stdlib_image = PYCELL_TEST_STDLIB;
  c.preinit = false;  // as the CLI does
  auto engine = Engine::create(c);
  ASSERT_TRUE(engine) << engine.error().message();
  auto s = Session::create(*engine, {});
  ASSERT_TRUE(s) << s.error().message();
  value(*s, "x = 1");
  auto snap = s->snapshot();
  ASSERT_TRUE(snap);
  value(*s, "x = 2");
  ASSERT_TRUE(s->restore(*snap));
  EXPECT_EQ(value(*s, "x"), "1");
  auto child = s->fork();
  ASSERT_TRUE(child) << child.error().message();
  EXPECT_EQ(value(*child, "x"), "1");
}

TEST(Snapshot, RestoreRefusesASnapshotLargerThanTheMemoryLimit) {
  Session big = new_session();
  value(big, "blob = bytearray(100 * 1024 * 1024)");
  auto snap = big.snapshot();
  ASSERT_TRUE(snap);
  SessionConfig small;
  small.limits.memory_bytes = 64ull << 20;
  auto s = Session::create(testing::test_engine(), *snap, small);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace pycell
