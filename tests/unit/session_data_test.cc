// Data in and out of a session: variables as JSON, files in /tmp.
#include <nlohmann/json.hpp>
#include <tuple>
#include <vector>

#include "test_support.h"

namespace pycell {
namespace {

using testing::new_session;
using testing::outcome;

TEST(SessionData, SetVariablesBindsJsonValues) {
  Session s = new_session();
  ASSERT_TRUE(s.set_variables(R"({"d":{"k":[1,2.5,"é"]},"n":null,"b":true,"i":12345678901234,"s":"x'\"\\"})").has_value());
  EXPECT_EQ(outcome(s, "print(d, n, b, i, s, type(i).__name__)"), "{'k': [1, 2.5, 'é']} None True 12345678901234 x'\"\\ int\n");
}

TEST(SessionData, GetVariableReturnsJson) {
  Session s = new_session();
  ASSERT_EQ(outcome(s, "x = {'a': [1, 2, None], 'b': 'ü'}\nnothing = None\nt = (1, 2)"), "");
  auto x = s.get_variable("x");
  ASSERT_TRUE(x.has_value());
  EXPECT_EQ(nlohmann::json::parse(*x), nlohmann::json::parse(R"({"a":[1,2,null],"b":"ü"})"));
  EXPECT_EQ(*s.get_variable("nothing"), "null");
  EXPECT_EQ(*s.get_variable("t"), "[1, 2]");
}

TEST(SessionData, GetVariableErrors) {
  Session s = new_session();
  ASSERT_EQ(outcome(s, "f = open"), "");
  auto missing = s.get_variable("nope");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(missing.error().message(), "no variable 'nope' in the session");
  auto unserializable = s.get_variable("f");
  ASSERT_FALSE(unserializable.has_value());
  EXPECT_EQ(unserializable.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(unserializable.error().message(), "variable 'f' is not JSON-serializable: <built-in function open>");
  auto injected = s.get_variable("x');import os;os._exit(3)#");
  ASSERT_FALSE(injected.has_value());
  EXPECT_EQ(injected.error().code(), ErrorCode::kInvalidArgument);
}

TEST(SessionData, SetVariablesRejectsNonObjectsAndBadNames) {
  Session s = new_session();
  EXPECT_EQ(s.set_variables("[1]").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(s.set_variables("{").error().code(), ErrorCode::kInvalidArgument);
  auto bad = s.set_variables(R"({"a b": 1})");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message(), "set_variables: 'a b' is not a Python identifier");
}

TEST(SessionData, ProtectedVariablesCannotBeRebound) {
  Session s = new_session();
  ASSERT_TRUE(s.set_variables(R"({"config": {"mode": "safe"}})", true).has_value());
  auto r = s.exec("config = {}");
  ASSERT_TRUE(r.has_value());
  ASSERT_TRUE(r->error.has_value());
  EXPECT_EQ(r->error->message, "'config' is protected by the host: it cannot be rebound or deleted");
  EXPECT_EQ(outcome(s, "print(config)"), "{'mode': 'safe'}\n");
}

TEST(SessionData, PutAndGetFiles) {
  Session s = new_session();
  ASSERT_TRUE(s.put_file("/tmp/in/data.csv", "a,b\n1,2\n").has_value());
  ASSERT_TRUE(s.put_file("rel.bin", std::string("\0\xff", 2)).has_value());
  EXPECT_EQ(outcome(s, "print(open('/tmp/in/data.csv').read().splitlines(), open('rel.bin','rb').read())"),
            "['a,b', '1,2'] b'\\x00\\xff'\n");
  ASSERT_EQ(outcome(s, "open('/tmp/out.txt', 'w').write('result ' * 3)"), "");
  EXPECT_EQ(*s.get_file("/tmp/out.txt"), "result result result ");
  EXPECT_EQ(*s.get_file("in/data.csv"), "a,b\n1,2\n");
  ASSERT_TRUE(s.put_file("in/data.csv", "replaced").has_value());
  EXPECT_EQ(outcome(s, "print(open('/tmp/in/data.csv').read(), sorted(__import__('os').listdir('/tmp/in')))"),
            "replaced ['data.csv']\n");
}

TEST(SessionData, FileErrors) {
  SessionConfig c;
  c.limits.tmp_bytes = 1000;
  Session s = new_session(c);
  EXPECT_EQ(s.get_file("/tmp/missing").error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(s.put_file("/etc/passwd", "x").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(s.put_file("/tmp/../etc/x", "x").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(s.put_file("/tmp/a//b", "x").error().code(), ErrorCode::kInvalidArgument);
  ASSERT_TRUE(s.put_file("keep.txt", "old").has_value());
  auto big = s.put_file("keep.txt", std::string(2000, 'x'));
  ASSERT_FALSE(big.has_value());
  EXPECT_EQ(big.error().code(), ErrorCode::kResourceExhausted);
  EXPECT_EQ(*s.get_file("keep.txt"), "old");  // a put that does not fit loses nothing
  ASSERT_EQ(outcome(s, "import os\nos.mkdir('/tmp/d')"), "");
  // What is in the way is a conflict with the session's /tmp, not a bad request.
  EXPECT_EQ(s.get_file("d").error().code(), ErrorCode::kConflict);
  EXPECT_EQ(s.put_file("d", "x").error().code(), ErrorCode::kConflict);
  EXPECT_EQ(s.put_file("keep.txt/x", "x").error().code(), ErrorCode::kConflict);
}

TEST(SessionData, ListFilesWalksTmpSorted) {
  Session s = new_session();
  EXPECT_TRUE(s.list_files()->empty());
  ASSERT_TRUE(s.put_file("b.txt", "12345").has_value());
  ASSERT_EQ(outcome(s, "import os\nos.makedirs('/tmp/a/deep')\nopen('/tmp/a/deep/x', 'w').write('x' * 3)"), "");
  auto files = s.list_files();
  ASSERT_TRUE(files.has_value());
  std::vector<std::tuple<std::string, bool, uint64_t>> got;
  for (const auto& f : *files) got.emplace_back(f.path, f.directory, f.bytes);
  EXPECT_EQ(got, (std::vector<std::tuple<std::string, bool, uint64_t>>{
                     {"/tmp/a", true, 0}, {"/tmp/a/deep", true, 0}, {"/tmp/a/deep/x", false, 3}, {"/tmp/b.txt", false, 5}}));
}

TEST(SessionData, RemoveFileTakesFilesAndWholeDirectoriesAndFreesQuota) {
  SessionConfig c;
  c.limits.tmp_bytes = 1000;
  Session s = new_session(c);
  ASSERT_TRUE(s.put_file("d/e/big", std::string(900, 'x')).has_value());
  ASSERT_TRUE(s.put_file("f", "1").has_value());
  EXPECT_EQ(s.put_file("g", std::string(200, 'x')).error().code(), ErrorCode::kResourceExhausted);
  ASSERT_TRUE(s.remove_file("/tmp/d").has_value());
  ASSERT_TRUE(s.put_file("g", std::string(200, 'x')).has_value());
  ASSERT_TRUE(s.remove_file("f").has_value());
  EXPECT_EQ(outcome(s, "import os\nprint(sorted(os.listdir('/tmp')))"), "['g']\n");
}

TEST(SessionData, RemoveFileRefusesWhatItCannotRemove) {
  Session s = new_session();
  EXPECT_EQ(s.remove_file("/tmp/missing").error().code(), ErrorCode::kNotFound);
  EXPECT_EQ(s.remove_file("/etc/passwd").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(s.remove_file("/tmp/../etc").error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(s.remove_file("/tmp/").error().code(), ErrorCode::kInvalidArgument);  // /tmp itself
  EXPECT_EQ(s.remove_file("").error().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace pycell
