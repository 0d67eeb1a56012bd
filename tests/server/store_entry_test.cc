// Store entries (the durable store's sealed format) and store URLs.
#include "store_entry.h"

#include <gtest/gtest.h>

#include "redis_store.h"

namespace pycell::server {
namespace {

constexpr std::string_view kKey = "a-cluster-key-of-32-bytes-or-more!!";

StoreEntry sample() {
  return StoreEntry{StoreEntry::Kind::kSession, "ses_w1_00ff", "rest", 7, R"({"limits":{}})",
                    std::string("snap\0shot", 9)};
}

TEST(StoreEntry, RoundTrips) {
  const std::string bytes = encode_entry(sample(), kKey);
  auto e = decode_entry(bytes, kKey, StoreEntry::Kind::kSession, "ses_w1_00ff");
  ASSERT_TRUE(e) << e.error().message();
  EXPECT_EQ(e->owner, "rest");
  EXPECT_EQ(e->version, 7u);
  EXPECT_EQ(e->config, R"({"limits":{}})");
  EXPECT_EQ(e->snapshot, std::string("snap\0shot", 9));
}

TEST(StoreEntry, EveryAlteredByteIsRefusedBySeal) {
  const std::string bytes = encode_entry(sample(), kKey);
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string altered = bytes;
    altered[i] ^= 0x10;
    auto e = decode_entry(altered, kKey, StoreEntry::Kind::kSession, "ses_w1_00ff");
    ASSERT_FALSE(e) << "byte " << i;
    EXPECT_EQ(e.error().code(), ErrorCode::kCorrupt);
  }
  auto e = decode_entry(bytes, "another-cluster-key-of-32-bytes-xx", StoreEntry::Kind::kSession, "ses_w1_00ff");
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message(),
            "store entry for 'ses_w1_00ff' is refused: seal mismatch (altered in the store, or written with another "
            "cluster key)");
}

TEST(StoreEntry, AnEntryIsBoundToItsIdAndKind) {
  const std::string bytes = encode_entry(sample(), kKey);
  auto e = decode_entry(bytes, kKey, StoreEntry::Kind::kSession, "ses_w2_1234");
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message(), "store entry for 'ses_w2_1234' is refused: it is the entry of another id");
  e = decode_entry(bytes, kKey, StoreEntry::Kind::kSnapshot, "ses_w1_00ff");
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message(), "store entry for 'ses_w1_00ff' is refused: not a snapshot entry");
  e = decode_entry("short", kKey, StoreEntry::Kind::kSession, "x");
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message(), "store entry for 'x' is refused: not a pycell store entry");
}

TEST(RedisUrl, Parses) {
  auto a = parse_redis_url("redis://10.0.0.5:6380/2");
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_EQ(a->host, "10.0.0.5");
  EXPECT_EQ(a->port, 6380);
  EXPECT_EQ(a->db, 2);
  a = parse_redis_url("redis://redis");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->port, 6379);
  EXPECT_EQ(a->db, 0);
  a = parse_redis_url("redis://[::1]:7000");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "::1");
  EXPECT_EQ(a->port, 7000);
}

TEST(RedisUrl, RefusesWhatItCannotUse) {
  for (const char* bad : {"http://h:1", "redis://", "redis://h:0", "redis://h:99999", "redis://h:1/x",
                          "redis://user:pw@h:1", "redis://[::1"}) {
    auto a = parse_redis_url(bad);
    ASSERT_FALSE(a) << bad;
    EXPECT_EQ(a.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(a.error().message().find("expected redis://HOST:PORT[/DB]"), std::string::npos);
  }
}

}  // namespace
}  // namespace pycell::server
