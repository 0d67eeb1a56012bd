// Delta snapshots (Snapshot::serialize_delta, format 03): the pages that
// differ from the engine's base, zstd-compressed and sealed; what durable
// server sessions store (docs/deploy.md).
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "pycell/engine.h"
#include "pycell/session.h"
#include "pycell/snapshot.h"
#include "test_support.h"

namespace pycell {
namespace {

std::string value(Session& s, const std::string& code) {
  auto r = s.exec(code);
  EXPECT_TRUE(r) << (r ? "" : r.error().message());
  if (!r) return "";
  EXPECT_EQ(r->exit_reason, ExitReason::kOk) << r->stderr_text;
  return r->value_repr.value_or("None");
}

/// A pre-initialized Engine sharing `key`, with `seed` as its hash secret.
Engine engine(std::string key, std::optional<uint64_t> seed, bool preinit = true) {
  EngineConfig c;
  c.stdlib_image = PYCELL_TEST_STDLIB;
  c.snapshot_key = std::move(key);
  c.hash_seed = seed;
  c.preinit = preinit;
  auto e = Engine::create(std::move(c));
  if (!e) {
    ADD_FAILURE() << "Engine::create: " << e.error().message();
    std::abort();
  }
  return std::move(*e);
}

const std::string kKey(32, 'k');

/// A session that ran a few cells, with a file in /tmp.
Session worked_session(const Engine& e) {
  auto s = Session::create(e, {});
  if (!s) {
    ADD_FAILURE() << s.error().message();
    std::abort();
  }
  value(*s, "import json, re\nx = {'a': [1, 2, 3]}");
  value(*s, "def f(n):\n    return sum(range(n))\ny = f(1000)");
  value(*s, "open('/tmp/notes.txt', 'w').write('kept ' * 100)");
  return std::move(*s);
}

TEST(SnapshotDelta, IsSmallAndRestoresEverything) {
  Engine a = engine(kKey, 7);
  Session s = worked_session(a);
  auto snap = s.snapshot();
  ASSERT_TRUE(snap) << snap.error().message();
  auto delta = snap->serialize_delta(a);
  ASSERT_TRUE(delta) << delta.error().message();
  auto full = snap->serialize(a);
  ASSERT_TRUE(full);
  // The whole memory is megabytes; the pages a few cells change, compressed, are not.
  EXPECT_LE(delta->size(), 256u << 10) << "full: " << full->size();
  EXPECT_LT(delta->size() * 20, full->size());
  EXPECT_EQ(delta->substr(0, 12), "PYCELLSNAP03");

  auto loaded = Snapshot::deserialize(a, *delta);
  ASSERT_TRUE(loaded) << loaded.error().message();
  EXPECT_EQ(loaded->memory_bytes(), snap->memory_bytes());
  auto t = Session::create(a, *loaded, {});
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(value(*t, "(x, y, open('/tmp/notes.txt').read()[:10], json.dumps(x))"),
            "({'a': [1, 2, 3]}, 499500, 'kept kept ', '{\"a\": [1, 2, 3]}')");
}

TEST(SnapshotDelta, LoadsInAnotherEngineWithTheSameKeyAndHashSeed) {
  // Two engines built alike have byte-identical bases: a worker's delta
  // continues in another worker.
  Engine a = engine(kKey, 7), b = engine(kKey, 7);
  Session s = worked_session(a);
  auto delta = s.snapshot()->serialize_delta(a);
  ASSERT_TRUE(delta) << delta.error().message();
  auto loaded = Snapshot::deserialize(b, *delta);
  ASSERT_TRUE(loaded) << loaded.error().message();
  auto t = Session::create(b, *loaded, {});
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(value(*t, "y + 1"), "499501");
}

TEST(SnapshotDelta, AnotherBaseIsRefusedByName) {
  Engine a = engine(kKey, 7), other_seed = engine(kKey, 8);
  Session s = worked_session(a);
  auto delta = s.snapshot()->serialize_delta(a);
  ASSERT_TRUE(delta);
  auto r = Snapshot::deserialize(other_seed, *delta);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message().find("delta against another base snapshot"), std::string::npos)
      << r.error().message();
}

TEST(SnapshotDelta, AlteredBytesAreRefusedBeforeDecompression) {
  Engine a = engine(kKey, 7);
  Session s = worked_session(a);
  auto delta = s.snapshot()->serialize_delta(a);
  ASSERT_TRUE(delta);
  std::string altered = *delta;
  altered[altered.size() / 2] ^= 0x20;
  auto r = Snapshot::deserialize(a, altered);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kCorrupt);
  EXPECT_NE(r.error().message().find("seal mismatch"), std::string::npos);
  // Another key refuses it the same way.
  r = Snapshot::deserialize(engine(std::string(32, 'o'), 7), *delta);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kCorrupt);
}

TEST(SnapshotDelta, ChainsOfDeltasKeepEveryChange) {
  // A session loaded from a delta and changed again (what an adopting worker
  // does): its next delta holds the first change and the second, including
  // memory grown past the base's size.
  Engine a = engine(kKey, 7), b = engine(kKey, 7);
  auto s = Session::create(a, {});
  ASSERT_TRUE(s);
  value(*s, "big = bytearray(30 << 20)\nbig[-1] = 7\nx = 'first'");
  auto first = s->snapshot()->serialize_delta(a);
  ASSERT_TRUE(first) << first.error().message();
  auto loaded = Snapshot::deserialize(b, *first);
  ASSERT_TRUE(loaded) << loaded.error().message();
  auto t = Session::create(b, *loaded, {});
  ASSERT_TRUE(t) << t.error().message();
  value(*t, "y = 'second'\nbig[0] = 9");
  auto second = t->snapshot()->serialize_delta(b);
  ASSERT_TRUE(second) << second.error().message();
  auto again = Snapshot::deserialize(a, *second);
  ASSERT_TRUE(again) << again.error().message();
  auto u = Session::create(a, *again, {});
  ASSERT_TRUE(u) << u.error().message();
  EXPECT_EQ(value(*u, "(x, y, big[0], big[-1], len(big))"), "('first', 'second', 9, 7, 31457280)");
  // Written again from what was loaded (its pages known from the delta): the same state.
  auto full = Snapshot::deserialize(a, *Snapshot::deserialize(a, *second)->serialize_delta(a));
  ASSERT_TRUE(full) << full.error().message();
  auto w = Session::create(a, *full, {});
  ASSERT_TRUE(w);
  EXPECT_EQ(value(*w, "(x, y, big[0], big[-1])"), "('first', 'second', 9, 7)");
}

TEST(SnapshotDelta, WithoutABaseTheDeltaIsAgainstZeros) {
  // An engine without a pre-initialized snapshot (the CLI's) still writes and
  // reads deltas: every non-zero page, compressed.
  Engine a = engine(kKey, std::nullopt, false), b = engine(kKey, std::nullopt, false);
  auto s = Session::create(a, {});
  ASSERT_TRUE(s) << s.error().message();
  value(*s, "z = 'cold' * 3");
  auto delta = s->snapshot()->serialize_delta(a);
  ASSERT_TRUE(delta) << delta.error().message();
  auto loaded = Snapshot::deserialize(b, *delta);
  ASSERT_TRUE(loaded) << loaded.error().message();
  auto t = Session::create(b, {});  // without a base, sessions start cold, then restore
  ASSERT_TRUE(t) << t.error().message();
  ASSERT_TRUE(t->restore(*loaded));
  EXPECT_EQ(value(*t, "z"), "'coldcoldcold'");
}

}  // namespace
}  // namespace pycell
