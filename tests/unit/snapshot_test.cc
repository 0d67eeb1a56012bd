// Snapshots: restore, fork, serialization, integrity checks, and isolation of
// memory between sessions that share a snapshot's pages.
#include "pycell/snapshot.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/resource.h>

#include <cstdlib>
#include <cstring>
#include <fstream>

#include "core/engine_state.h"
#include "pycell_guest_info.h"
#include "rt/guest_memory.h"
#include "rt/instance.h"
#include "test_support.h"
#include "vfs/vfs.h"

namespace pycell {
namespace {

using testing::new_session;
using testing::test_engine;

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
  auto bytes = snap->serialize(testing::test_engine());
  ASSERT_TRUE(bytes);
  auto loaded = Snapshot::deserialize(testing::test_engine(), *bytes);
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
  auto bytes = snap->serialize(test_engine());
  ASSERT_TRUE(bytes) << bytes.error().message();
  auto loaded = Snapshot::deserialize(test_engine(), *bytes);
  ASSERT_TRUE(loaded) << loaded.error().message();
  EXPECT_EQ(loaded->memory_bytes(), snap->memory_bytes());
  auto t = Session::create(testing::test_engine(), *loaded, {});
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(value(*t, "(data, keep.read(), os.stat('/tmp/link').st_nlink)"), "({'k': [1, 2, 3]}, 'payload', 2)");
}

/// The HMAC-SHA256 that seals snapshots under `key`.
std::string mac(std::string_view key, std::string_view body) {
  unsigned char out[32];
  unsigned int len = 0;
  EXPECT_NE(HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
                 reinterpret_cast<const unsigned char*>(body.data()), body.size(), out, &len),
            nullptr);
  return std::string(reinterpret_cast<char*>(out), len);
}

/// Seals `body` as serialize() does in the test engine, so that only the
/// content is at fault.
std::string seal(const std::string& body) { return body + mac(test_engine().state()->snapshot_key, body); }

TEST(Snapshot, CorruptedBytesAreRejected) {
  Session s = new_session();
  auto bytes = s.snapshot()->serialize(test_engine());
  ASSERT_TRUE(bytes);
  std::string flipped = *bytes;
  flipped[flipped.size() / 2] ^= 0x01;
  auto r = Snapshot::deserialize(test_engine(), flipped);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kCorrupt);
  EXPECT_EQ(r.error().message(),
            "snapshot is corrupt: seal mismatch (truncated, altered, or sealed with another snapshot key)");

  r = Snapshot::deserialize(test_engine(), std::string_view(*bytes).substr(0, bytes->size() - 1000));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kCorrupt);

  r = Snapshot::deserialize(test_engine(), "definitely not a snapshot");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kCorrupt);
  EXPECT_EQ(r.error().message(), "not a pycell snapshot");
}

TEST(Snapshot, AnUnkeyedChecksumIsNotASeal) {
  // Anyone can recompute a plain SHA-256, as the old format used: an altered
  // body with one is refused.
  Session s = new_session();
  auto bytes = s.snapshot()->serialize(test_engine());
  ASSERT_TRUE(bytes);
  std::string body = bytes->substr(0, bytes->size() - 32);
  body[body.size() / 2] ^= 0x01;
  unsigned char hash[32];
  unsigned int len = 0;
  ASSERT_EQ(EVP_Digest(body.data(), body.size(), hash, &len, EVP_sha256(), nullptr), 1);
  auto r = Snapshot::deserialize(test_engine(), body + std::string(reinterpret_cast<char*>(hash), len));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kCorrupt);
  // The old format is named as such.
  std::string old = *bytes;
  old[11] = '1';
  r = Snapshot::deserialize(test_engine(), old);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().message(), "snapshot is in format 01; this pycell reads formats 02 and 03");
}

TEST(Snapshot, ForeignBuildIsRejected) {
  Session s = new_session();
  auto bytes = s.snapshot()->serialize(test_engine());
  ASSERT_TRUE(bytes);
  // Another build: a different id, with a seal that is valid for it.
  std::string other = bytes->substr(0, bytes->size() - 32);
  other[12] = other[12] == 'a' ? 'b' : 'a';
  auto r = Snapshot::deserialize(test_engine(), seal(other));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message().find("another pycell build"), std::string::npos);
}

/// An Engine without preinit (cheap to make) with `key`, if given.
Engine keyed_engine(std::optional<std::string> key) {
  EngineConfig c;
  c.stdlib_image = PYCELL_TEST_STDLIB;
  c.preinit = false;
  c.snapshot_key = std::move(key);
  auto e = Engine::create(std::move(c));
  if (!e) {
    ADD_FAILURE() << "Engine::create: " << e.error().message();
    std::abort();
  }
  return std::move(*e);
}

TEST(Snapshot, EnginesSharingAKeyLoadEachOthersSnapshots) {
  const std::string key(32, 'k'), other_key(32, 'o');
  Engine a = keyed_engine(key), b = keyed_engine(key), c = keyed_engine(other_key);
  auto maker = Session::create(a, {});
  ASSERT_TRUE(maker) << maker.error().message();
  value(*maker, "x = 41\nopen('/tmp/f', 'w').write('kept')");
  auto bytes = maker->snapshot()->serialize(a);
  ASSERT_TRUE(bytes) << bytes.error().message();

  // The right key in another Engine: it loads, and a session restores it.
  auto loaded = Snapshot::deserialize(b, *bytes);
  ASSERT_TRUE(loaded) << loaded.error().message();
  auto t = Session::create(b, {});
  ASSERT_TRUE(t) << t.error().message();
  ASSERT_TRUE(t->restore(*loaded));
  EXPECT_EQ(value(*t, "(x + 1, open('/tmp/f').read())"), "(42, 'kept')");

  // Another key, or none: refused before anything is read.
  for (const Engine* wrong : {static_cast<const Engine*>(&c), &test_engine()}) {
    auto r = Snapshot::deserialize(*wrong, *bytes);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), ErrorCode::kCorrupt);
    EXPECT_NE(r.error().message().find("seal mismatch"), std::string::npos);
  }
}

TEST(Snapshot, WithoutAKeyOnlyTheEngineThatMadeItLoadsIt) {
  Engine a = keyed_engine(std::nullopt), b = keyed_engine(std::nullopt);
  auto maker = Session::create(a, {});
  ASSERT_TRUE(maker) << maker.error().message();
  value(*maker, "x = 7");
  auto bytes = maker->snapshot()->serialize(a);
  ASSERT_TRUE(bytes);
  value(*maker, "x = 8");
  auto same = Snapshot::deserialize(a, *bytes);
  ASSERT_TRUE(same) << same.error().message();
  ASSERT_TRUE(maker->restore(*same));
  EXPECT_EQ(value(*maker, "x"), "7");
  auto r = Snapshot::deserialize(b, *bytes);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kCorrupt);
}

TEST(Snapshot, ShortKeysAreRefused) {
  EngineConfig c;
  c.stdlib_image = PYCELL_TEST_STDLIB;
  c.preinit = false;
  c.snapshot_key = std::string(31, 'k');
  auto e = Engine::create(std::move(c));
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(e.error().message(), "snapshot_key must be at least 32 bytes, got 31");
}

template <class T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

/// A well-formed start of a snapshot: header, an empty memory and the globals.
std::string crafted_header() {
  std::string b = "PYCELLSNAP02";
  b.append(PYCELL_GUEST_BUILD_ID, 64);
  put<uint64_t>(b, 0);  // memory size
  put<uint64_t>(b, rt::Instance::globals_size());
  b.append(rt::Instance::globals_size(), '\0');
  return b;
}

/// In a child process: limits the address space to 256 MiB more than it
/// has, runs deserialize(bytes), and exits 0 if it was refused as kCorrupt.
[[noreturn]] void deserialize_with_little_memory(const std::string& bytes) {
  std::ifstream status("/proc/self/status");
  uint64_t vm_kib = 0;
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmSize:", 0) == 0) vm_kib = std::strtoull(line.c_str() + 7, nullptr, 10);
  }
  const rlim_t limit = (vm_kib << 10) + (256ull << 20);
  const rlimit rl{limit, limit};
  if (vm_kib == 0 || setrlimit(RLIMIT_AS, &rl) != 0) std::_Exit(3);
  auto r = Snapshot::deserialize(test_engine(), bytes);
  std::_Exit(!r && r.error().code() == ErrorCode::kCorrupt ? 0 : 4);
}

/// deserialize(bytes) must refuse them as kCorrupt without allocating much.
void expect_refused_within_memory(const std::string& bytes, const std::string& what) {
  EXPECT_EXIT(deserialize_with_little_memory(bytes), ::testing::ExitedWithCode(0), "") << what;
}

TEST(Snapshot, CraftedCountsAreRefusedBeforeAllocating) {
  // 188 bytes that claimed 16M files made the host allocate 1.8 GB.
  std::string files = crafted_header();
  put<uint64_t>(files, 1u << 24);
  expect_refused_within_memory(seal(files), "huge file count");

  // A file whose path claims 2^62 bytes.
  std::string path = crafted_header();
  put<uint64_t>(path, 1);                   // one entry: the root
  put<uint8_t>(path, static_cast<uint8_t>(vfs::Kind::kDirectory));
  put<uint64_t>(path, 0);                   // atime
  put<uint64_t>(path, 0);                   // mtime
  put<uint64_t>(path, 0);                   // link_of
  put<uint64_t>(path, uint64_t{1} << 62);  // path length
  expect_refused_within_memory(seal(path), "huge path length");

  // An fd table that claims 2^32 - 1 entries.
  std::string fds = crafted_header();
  put<uint64_t>(fds, 1);
  put<uint8_t>(fds, static_cast<uint8_t>(vfs::Kind::kDirectory));
  for (int i = 0; i < 3; ++i) put<uint64_t>(fds, 0);
  put<uint64_t>(fds, 0);  // path ""
  put<uint64_t>(fds, 0);  // data ""
  put<uint32_t>(fds, 0xffffffffu);
  expect_refused_within_memory(seal(fds), "huge fd count");
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
