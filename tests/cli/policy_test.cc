// The one schema of session knobs (src/frontends/common/policy.h): JSON in and
// out, the trust rules servers rely on, and the table's own consistency.
#include "common/policy.h"

#include <limits>
#include <set>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/echo.h"
#include "common/result_json.h"

namespace pycell::policy {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

std::string apply_error(SessionConfig& c, const json& j, Trust trust = Trust::kOperator) {
  auto r = apply_json(c, j, trust);
  return r ? std::string("(accepted)") : r.error().message();
}

TEST(Policy, TableIsConsistent) {
  std::set<std::string_view> keys, flags;
  for (const Field& f : fields()) {
    EXPECT_FALSE(f.help.empty()) << f.key;
    EXPECT_FALSE(f.key.empty() && f.flag.empty()) << "a field nobody can set";
    if (!f.key.empty()) {
      EXPECT_TRUE(keys.insert(f.key).second) << "duplicate key " << f.key;
      EXPECT_TRUE(f.from_json && f.to_json) << f.key;
    }
    if (!f.flag.empty()) {
      EXPECT_TRUE(f.flag.starts_with("--")) << f.flag;
      EXPECT_TRUE(flags.insert(f.flag).second) << "duplicate flag " << f.flag;
      EXPECT_TRUE(f.parse) << f.flag;
    }
  }
}

TEST(Policy, UnknownKeysAreRefusedByName) {
  SessionConfig c;
  EXPECT_THAT(apply_error(c, {{"memory_bytes", 1}}), HasSubstr("memory_bytes: unknown key"));
  EXPECT_THAT(apply_error(c, {{"limits", {{"memory", 1}}}}), HasSubstr("limits.memory: unknown key"));
  EXPECT_THAT(apply_error(c, {{"limits", {{"memory", 1}}}}), HasSubstr("memory_bytes"));  // lists the known ones
  EXPECT_THAT(apply_error(c, {{"mounts", {{{"host_path", "/a"}, {"guest_path", "/b"}, {"mode", "rw"}}}}}),
              HasSubstr("unknown key 'mode'"));
}

TEST(Policy, WrongTypesAreRefusedByName) {
  SessionConfig c;
  EXPECT_THAT(apply_error(c, {{"limits", {{"timeout_ms", "10"}}}}), HasSubstr("limits.timeout_ms: expected a non-negative integer"));
  EXPECT_THAT(apply_error(c, {{"limits", {{"timeout_ms", -1}}}}), HasSubstr("limits.timeout_ms"));
  EXPECT_THAT(apply_error(c, {{"limits", {{"timeout_ms", 1.5}}}}), HasSubstr("limits.timeout_ms"));
  EXPECT_THAT(apply_error(c, {{"limits", {{"tmp_depth", 1ull << 32}}}}), HasSubstr("above the maximum"));
  EXPECT_THAT(apply_error(c, {{"limits", 5}}), HasSubstr("limits: expected an object"));
  EXPECT_THAT(apply_error(c, {{"env", {{"A", 1}}}}), HasSubstr("env.A: expected a string"));
  EXPECT_THAT(apply_error(c, {{"determinism", {{"enabled", "yes"}}}}), HasSubstr("determinism.enabled"));
  EXPECT_THAT(apply_error(c, json::array()), HasSubstr("expected a JSON object"));
  EXPECT_THAT(apply_error(c, {{"http", {{"secret_headers", {{{"host", "h"}, {"name", "X-A\r\nB"}, {"value", "v"}}}}}}}),
              HasSubstr("bad header name"));
}

TEST(Policy, JsonRoundTrips) {
  SessionConfig c;
  c.limits.memory_bytes = 64 << 20;
  c.limits.fuel = 12345;
  c.limits.tmp_depth = 7;
  c.mounts.push_back({"/srv/data", "/data", Mount::Access::kReadWrite, false});
  c.mounts.push_back({"/srv/pkgs", "/pkgs", Mount::Access::kReadOnly, true});
  c.http.emplace();
  c.http->allow_hosts = {"api.example.com", "*.example.org"};
  c.http->allow_cidrs = {"10.0.0.0/8"};
  c.http->max_redirects = 2;
  c.determinism.enabled = true;
  c.determinism.seed = 99;
  c.functions_as_globals = true;
  const json j = to_json(c);
  SessionConfig d;
  ASSERT_TRUE(apply_json(d, j)) << apply_error(d, j);
  EXPECT_EQ(to_json(d), j);
  EXPECT_EQ(d.limits.tmp_depth, 7u);
  EXPECT_EQ(d.mounts.at(1).package_path, true);
  EXPECT_EQ(j["http"]["max_redirects"], 2);
  EXPECT_TRUE(to_json(SessionConfig{})["http"].is_null());
}

TEST(Policy, EnvMergesByName) {
  SessionConfig c;
  c.env = {"A=1", "B=2"};
  ASSERT_TRUE(apply_json(c, {{"env", {{"B", "3"}, {"C", ""}}}}));
  EXPECT_EQ(c.env, (std::vector<std::string>{"A=1", "B=3", "C="}));
}

TEST(Policy, SecretHeaderValuesNeverLeaveThroughToJson) {
  SessionConfig c;
  c.http.emplace();
  c.http->secret_headers.push_back({"api.example.com", "Authorization", "Bearer s3cret"});
  const std::string out = to_json(c).dump();
  EXPECT_THAT(out, HasSubstr("Authorization"));
  EXPECT_THAT(out, ::testing::Not(HasSubstr("s3cret")));
}

// --env and --pass-env carry API keys: every report of a config (health,
// servers, `pycell config`) names the variables and hides the values.
TEST(Policy, EnvValuesNeverLeaveThroughToJson) {
  SessionConfig c;
  c.env = {"OPENAI_API_KEY=sk-s3cret", "B=x=y"};
  const json j = to_json(c);
  EXPECT_EQ(j["env"], (json{{"OPENAI_API_KEY", "<redacted>"}, {"B", "<redacted>"}}));
  EXPECT_THAT(j.dump(), ::testing::Not(HasSubstr("s3cret")));
}

// Error messages quote the client's value, key or text, but never more than
// kEchoBytes of it: a request body can be megabytes.
TEST(Policy, ErrorsQuoteClientInputBounded) {
  SessionConfig c;
  const std::string huge(100'000, 'x');
  for (const json& bad : {json{{"limits", {{"timeout_ms", huge}}}}, json{{"env", {{huge, 1}}}},
                          json{{huge, 1}}, json{{"mounts", {{{huge, 1}}}}}, json::array({huge})}) {
    const std::string message = apply_error(c, bad);
    EXPECT_LT(message.size(), 2 * kEchoBytes + 300) << message.substr(0, 300);
    EXPECT_THAT(message, HasSubstr("more bytes)"));
  }
  EXPECT_LT(parse_bytes(huge).error().message().size(), kEchoBytes + 100);
}

TEST(Echo, CutsLongTextAtACharacterBoundary) {
  EXPECT_EQ(echo("short"), "short");
  EXPECT_EQ(echo(std::string(kEchoBytes, 'a')), std::string(kEchoBytes, 'a'));
  EXPECT_EQ(echo(std::string(kEchoBytes + 50, 'a')), std::string(kEchoBytes, 'a') + "... (50 more bytes)");
  // "é" is two bytes; one straddling the cut is left out whole.
  const std::string text = std::string(kEchoBytes - 1, 'a') + "\xc3\xa9" "bc";
  EXPECT_EQ(echo(text), std::string(kEchoBytes - 1, 'a') + "... (4 more bytes)");
  EXPECT_EQ(echo_json(json{{"k", std::string(1000, 'v')}}).substr(0, 8), R"({"k":"vv)");
}

TEST(Policy, ClientsCannotGrant) {
  SessionConfig c;
  EXPECT_THAT(apply_error(c, {{"mounts", {{{"host_path", "/"}, {"guest_path", "/host"}}}}}, Trust::kClient),
              HasSubstr("only be set by the server's operator"));
  EXPECT_THAT(apply_error(c, {{"http", json::object()}}, Trust::kClient), HasSubstr("grants no HTTP access"));
  EXPECT_THAT(apply_error(c, {{"http", {{"timeout_ms", 5}}}}, Trust::kClient), HasSubstr("grants no HTTP access"));
  EXPECT_FALSE(c.http.has_value());
  c.http.emplace();
  EXPECT_THAT(apply_error(c, {{"http", {{"allow_hosts", {"evil.example"}}}}}, Trust::kClient),
              HasSubstr("operator"));
  EXPECT_TRUE(c.http->allow_hosts.empty());
  // Revoking and lowering are fine.
  EXPECT_EQ(apply_error(c, {{"http", {{"timeout_ms", 5}}}}, Trust::kClient), "(accepted)");
  EXPECT_EQ(apply_error(c, {{"http", nullptr}}, Trust::kClient), "(accepted)");
  EXPECT_FALSE(c.http.has_value());
  EXPECT_EQ(apply_error(c, {{"env", {{"A", "1"}}}, {"determinism", {{"enabled", true}}}}, Trust::kClient),
            "(accepted)");
}

TEST(Policy, ClientsMayOnlyLowerLimits) {
  SessionConfig c;
  c.limits.memory_bytes = 256 << 20;
  c.limits.fuel = 1000;
  EXPECT_EQ(apply_error(c, {{"limits", {{"memory_bytes", 64 << 20}}}}, Trust::kClient), "(accepted)");
  EXPECT_EQ(c.limits.memory_bytes, 64u << 20);
  EXPECT_THAT(apply_error(c, {{"limits", {{"memory_bytes", 65 << 20}}}}, Trust::kClient),
              HasSubstr("above the server's limit"));
  // 0 = unlimited is not "lower".
  EXPECT_THAT(apply_error(c, {{"limits", {{"fuel", 0}}}}, Trust::kClient), HasSubstr("0 (unlimited)"));
  EXPECT_EQ(c.limits.fuel, 1000u);
  // Under an unlimited operator setting anything goes.
  c.limits.timeout_ms = 0;
  EXPECT_EQ(apply_error(c, {{"limits", {{"timeout_ms", 99999999}}}}, Trust::kClient), "(accepted)");
  // The operator may raise.
  EXPECT_EQ(apply_error(c, {{"limits", {{"memory_bytes", 1ull << 30}}}}), "(accepted)");
}

TEST(Policy, DeterminismSettingsNeedDeterminism) {
  SessionConfig c;
  EXPECT_THAT(apply_error(c, {{"determinism", {{"seed", 5}}}}), HasSubstr("need determinism.enabled"));
  SessionConfig d;
  EXPECT_EQ(apply_error(d, {{"determinism", {{"seed", 5}, {"enabled", true}}}}), "(accepted)");
}

TEST(Policy, ClientSchemaLeavesOutGrants) {
  SessionConfig with_http;
  with_http.http.emplace();
  const json op = json_schema(Trust::kOperator), client = json_schema(Trust::kClient, with_http);
  EXPECT_TRUE(op["properties"].contains("mounts"));
  EXPECT_FALSE(client["properties"].contains("mounts"));
  EXPECT_TRUE(op["properties"]["http"]["properties"].contains("allow_hosts"));
  EXPECT_FALSE(client["properties"]["http"]["properties"].contains("allow_hosts"));
  EXPECT_EQ(client["properties"]["http"]["type"], json({"object", "null"}));
  // Without an HTTP grant any "http" object is refused: only null is left.
  EXPECT_EQ(json_schema(Trust::kClient)["properties"]["http"]["type"], "null");
  EXPECT_EQ(client["properties"]["limits"]["additionalProperties"], false);
  EXPECT_THAT(client["properties"]["limits"]["properties"]["memory_bytes"]["description"].get<std::string>(),
              HasSubstr("May only be lowered"));
}

TEST(Policy, ClientSchemaBoundsAreTheServersLimits) {
  SessionConfig server;
  server.limits.timeout_ms = 5000;
  server.limits.fuel = 0;  // unlimited
  const json limits = json_schema(Trust::kClient, server)["properties"]["limits"]["properties"];
  EXPECT_EQ(limits["timeout_ms"]["maximum"], 5000);
  EXPECT_EQ(limits["timeout_ms"]["minimum"], 1);  // 0 would mean no timeout
  EXPECT_EQ(limits["fuel"]["maximum"], std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(limits["fuel"]["minimum"], 0);
  EXPECT_EQ(limits["grace_ms"]["maximum"], server.limits.grace_ms);
  EXPECT_EQ(limits["grace_ms"]["minimum"], 0);
  // The bounds are exactly what apply_json lets a client through.
  SessionConfig c = server;
  EXPECT_EQ(apply_error(c, {{"limits", {{"timeout_ms", 5000}}}}, Trust::kClient), "(accepted)");
  EXPECT_THAT(apply_error(c, {{"limits", {{"timeout_ms", 5001}}}}, Trust::kClient),
              HasSubstr("5001 is above the server's limit of 5000"));
}

TEST(Policy, ClientSchemaSpellsOutTheDeterminismRule) {
  EXPECT_EQ(json_schema(Trust::kClient)["properties"]["determinism"]["anyOf"], json::parse(R"([
    {"required": ["enabled"], "properties": {"enabled": {"const": true}}},
    {"required": [], "properties": {"seed": {"const": 0}, "start_time_ns": {"const": 1704067200000000000},
                                    "ns_per_fuel": {"const": 50}}}])"));
  SessionConfig on;
  on.determinism.enabled = true;
  on.determinism.seed = 7;
  const json rule = json_schema(Trust::kClient, on)["properties"]["determinism"]["anyOf"];
  EXPECT_EQ(rule[0], json::parse(R"({"properties": {"enabled": {"const": true}}})"));  // absent: stays on
  EXPECT_EQ(rule[1]["required"], json({"seed"}));  // turned off: seed must go back to 0
}

TEST(Policy, NumbersWithAZeroFractionAreIntegers) {
  SessionConfig c;
  EXPECT_EQ(apply_error(c, {{"limits", {{"timeout_ms", 1000.0}}}}), "(accepted)");
  EXPECT_EQ(c.limits.timeout_ms, 1000u);
  EXPECT_THAT(apply_error(c, {{"limits", {{"timeout_ms", 1000.5}}}}), HasSubstr("expected a non-negative integer"));
  EXPECT_THAT(apply_error(c, {{"limits", {{"timeout_ms", -1.0}}}}), HasSubstr("expected a non-negative integer"));
}

TEST(Policy, ParsesByteCounts) {
  EXPECT_EQ(*parse_bytes("4096"), 4096u);
  EXPECT_EQ(*parse_bytes("64M"), 64ull << 20);
  EXPECT_EQ(*parse_bytes("64MiB"), 64ull << 20);
  EXPECT_EQ(*parse_bytes("64MB"), 64ull << 20);
  EXPECT_EQ(*parse_bytes("1G"), 1ull << 30);
  EXPECT_EQ(*parse_bytes("2K"), 2048u);
  EXPECT_EQ(*parse_bytes("7B"), 7u);
  for (const char* bad : {"", "M", "-1", "1.5M", "1 M", "1X", "99999999999999999999", "16777216T"}) {
    EXPECT_FALSE(parse_bytes(bad).has_value()) << bad;
  }
}

TEST(Policy, CliValuesParse) {
  auto field = [](std::string_view flag) -> const Field& {
    for (const Field& f : fields()) {
      if (f.flag == flag) return f;
    }
    ADD_FAILURE() << "no flag " << flag;
    return fields().front();
  };
  const HostEnv env = [](std::string_view name) -> std::optional<std::string> {
    if (name == "TOKEN") return std::string("Bearer t0k");
    return std::nullopt;
  };
  SessionConfig c;
  ASSERT_TRUE(field("--mount").parse(c, "/a:b:/data:rw", env));
  ASSERT_TRUE(field("--mount").parse(c, "/pk:/pk:pkg", env));
  ASSERT_TRUE(field("--mount").parse(c, "/x:/y", env));
  EXPECT_EQ(c.mounts[0].host_path, "/a:b");
  EXPECT_EQ(c.mounts[0].guest_path, "/data");
  EXPECT_EQ(c.mounts[0].access, Mount::Access::kReadWrite);
  EXPECT_TRUE(c.mounts[1].package_path);
  EXPECT_EQ(c.mounts[1].access, Mount::Access::kReadOnly);
  EXPECT_EQ(c.mounts[2].access, Mount::Access::kReadOnly);
  EXPECT_FALSE(field("--mount").parse(c, "/only", env));
  EXPECT_FALSE(field("--mount").parse(c, ":/g", env));
  ASSERT_TRUE(field("--secret-header").parse(c, "api.x:Authorization:@TOKEN", env));
  EXPECT_EQ(c.http->secret_headers.at(0).value, "Bearer t0k");
  ASSERT_TRUE(field("--secret-header").parse(c, "api.x:X-Key:a:b", env));
  EXPECT_EQ(c.http->secret_headers.at(1).value, "a:b");
  EXPECT_THAT(field("--secret-header").parse(c, "api.x:X-Key:@MISSING", env).error().message(),
              HasSubstr("MISSING"));
  EXPECT_FALSE(field("--pass-env").parse(c, "MISSING", env));
  ASSERT_TRUE(field("--env").parse(c, "A=1", env));
  ASSERT_TRUE(field("--env").parse(c, "A=2", env));  // the later value wins
  EXPECT_EQ(c.env, std::vector<std::string>{"A=2"});
  EXPECT_FALSE(field("--env").parse(c, "NOEQUALS", env));
  EXPECT_FALSE(field("--env").parse(c, "=v", env));
}

TEST(ResultJson, HasEveryField) {
  ExecResult r;
  r.stdout_text = "a\xff";  // not UTF-8: still serializable
  r.value_repr = "{'a': 1}";
  r.value_json = R"({"a": 1})";
  r.error = GuestError{"ValueError", "bad", {{"<cell-1>", 3, "f", "raise ValueError('bad')"}}};
  r.exit_reason = ExitReason::kException;
  r.exit_code = 1;
  r.wall_time = std::chrono::microseconds(1500);
  const json j = to_json(r);
  for (const char* key : {"stdout", "stderr", "stdout_truncated", "stderr_truncated", "value_repr", "value_json",
                          "error", "exit_reason", "exit_code", "trap", "wall_time_ms", "fuel_used", "rolled_back",
                          "peak_memory"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j.size(), 14u);
  EXPECT_EQ(j["value_json"]["a"], 1);
  EXPECT_EQ(j["error"]["frames"][0]["line"], 3);
  EXPECT_EQ(j["exit_reason"], "exception");
  EXPECT_EQ(j["trap"], "none");
  EXPECT_DOUBLE_EQ(j["wall_time_ms"].get<double>(), 1.5);
  EXPECT_THAT(dump(j), HasSubstr("a\xef\xbf\xbd"));  // U+FFFD
}

// value_json is guest data: one nested deeper than parse_json allows is
// reported as absent instead of being built (and later dumped, recursively).
TEST(ResultJson, DeepValueJsonIsAbsent) {
  ExecResult r;
  r.value_json = std::string(100'000, '[') + std::string(100'000, ']');
  EXPECT_TRUE(to_json(r)["value_json"].is_null());
  r.value_json = "[[1]]";
  EXPECT_EQ(to_json(r)["value_json"], json::parse("[[1]]"));
}

}  // namespace
}  // namespace pycell::policy
