// parse_json: untrusted JSON is depth-checked before anything recursive touches it.
#include <gtest/gtest.h>

#include <string>

#include "pycell/json.h"

namespace pycell {
namespace {

std::string nested(size_t depth, char open = '[', char close = ']') {
  return std::string(depth, open) + std::string(depth, close);
}

TEST(ParseJson, AcceptsOrdinaryDocuments) {
  auto j = parse_json(R"({"code": "1", "config": {"timeout_ms": 5}, "xs": [1, 2.5, null, true]})");
  ASSERT_TRUE(j);
  EXPECT_EQ((*j)["config"]["timeout_ms"], 5);
}

TEST(ParseJson, AcceptsExactlyTheMaximumDepth) {
  EXPECT_TRUE(parse_json(nested(kMaxJsonDepth)));
}

TEST(ParseJson, RefusesOneLevelTooDeepAndSaysWhy) {
  std::string why;
  EXPECT_FALSE(parse_json(nested(kMaxJsonDepth + 1), &why));
  EXPECT_EQ(why, "nested deeper than 256 levels");
}

// The audit's repro: 60,000 levels parsed, then crashed the server when copied
// or dumped. Now it is refused before any value exists (and copying or
// dumping is never reached), objects and arrays alike.
TEST(ParseJson, RefusesHostileDepthWithoutRecursing) {
  std::string why;
  EXPECT_FALSE(parse_json("{\"code\":\"1\",\"config\":" + nested(60'000) + "}", &why));
  EXPECT_EQ(why, "nested deeper than 256 levels");
  std::string objects;
  for (int i = 0; i < 150'000; ++i) objects += "{\"a\":";
  objects += "1" + std::string(150'000, '}');
  EXPECT_FALSE(parse_json(objects, &why));
  EXPECT_EQ(why, "nested deeper than 256 levels");
}

TEST(ParseJson, InvalidJsonNamesTheByteNotTheInput) {
  std::string why;
  EXPECT_FALSE(parse_json("{\"secret\": oops}", &why));
  EXPECT_EQ(why.find("secret"), std::string::npos);
  EXPECT_NE(why.find("not valid JSON (at byte"), std::string::npos) << why;
  EXPECT_FALSE(parse_json("", &why));
  EXPECT_FALSE(parse_json("[1] trailing", &why));
}

TEST(ParseJson, CustomDepth) {
  EXPECT_TRUE(parse_json("[[1]]", nullptr, 2));
  EXPECT_FALSE(parse_json("[[[1]]]", nullptr, 2));
}

}  // namespace
}  // namespace pycell
