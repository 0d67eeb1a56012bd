// Host functions: registration, the guest-side Python functions built from
// their schemas, and every way a call can be refused.
#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <thread>

#include "core/host_functions.h"
#include "test_support.h"

namespace pycell {
namespace {

using nlohmann::json;
using testing::exec_ok;
using testing::new_session;
using testing::outcome;

HostFunction add_function() {
  HostFunction f;
  f.name = "add";
  f.description = "Adds two integers.";
  f.parameters = R"({"type":"object","properties":{"a":{"type":"integer","description":"first"},
                     "b":{"type":"integer"},"note":{"type":"string"}},"required":["a","b"]})";
  f.callback = [](const HostCall& call) -> Result<std::string> {
    auto args = json::parse(call.args_json);
    return json(args["a"].get<int64_t>() + args["b"].get<int64_t>()).dump();
  };
  return f;
}

HostFunction echo_function() {
  HostFunction f;
  f.name = "echo";
  f.description = "Returns its argument.";
  f.parameters = R"({"type":"object","properties":{"value":{}},"required":["value"]})";
  f.callback = [](const HostCall& call) -> Result<std::string> { return json::parse(call.args_json)["value"].dump(); };
  return f;
}

SessionConfig with(std::vector<HostFunction> functions) {
  SessionConfig c;
  c.functions = std::move(functions);
  return c;
}

TEST(HostFunctions, CallReturnsResult) {
  Session s = new_session(with({add_function()}));
  EXPECT_EQ(outcome(s, "import pycell_host\nprint(pycell_host.add(2, 3), pycell_host.add(a=40, b=2))"), "5 42\n");
}

TEST(HostFunctions, SignatureAndDocstringComeFromSchema) {
  Session s = new_session(with({add_function()}));
  EXPECT_EQ(outcome(s, "import inspect, pycell_host\nprint(inspect.signature(pycell_host.add))"),
            "(a: int, b: int, note: str = None)\n");
  EXPECT_EQ(outcome(s, "print(pycell_host.add.__doc__)"),
            "Adds two integers.\n\nArgs:\n    a (int): first\n    b (int):\n    note (str):\n");
  EXPECT_EQ(outcome(s, "from pycell_host import add\nprint(add.__name__, add.__module__)"), "add pycell_host\n");
}

TEST(HostFunctions, JsonValuesRoundTrip) {
  Session s = new_session(with({echo_function()}));
  EXPECT_EQ(outcome(s, "import pycell_host\nprint(pycell_host.echo({'a': [1, 2.5, None, True, 'é']}))"),
            "{'a': [1, 2.5, None, True, 'é']}\n");
}

TEST(HostFunctions, WrongArgumentsAreTypeErrors) {
  Session s = new_session(with({add_function()}));
  EXPECT_EQ(outcome(s, "import pycell_host\npycell_host.add(1)"), "TypeError: missing a required argument: 'b'");
  EXPECT_EQ(outcome(s, "pycell_host.add(1, 2, c=3)"), "TypeError: got an unexpected keyword argument 'c'");
  EXPECT_EQ(outcome(s, "pycell_host.add('1', 2)"), "TypeError: add() argument 'a' must be int, not str");
  // Past the Python wrapper, the host checks the schema itself.
  EXPECT_EQ(outcome(s, "pycell_host.call('add', {'a': 'x', 'b': 2})"),
            "TypeError: add(): \"a\" must be of type integer, not string");
  EXPECT_EQ(outcome(s, "pycell_host.call('add', {'a': 1})"), "TypeError: add(): missing required argument \"b\"");
  EXPECT_EQ(outcome(s, "pycell_host.call('add', {'a': 1e300, 'b': 2.5})"),
            "TypeError: add(): \"b\" must be of type integer, not number");
  EXPECT_EQ(outcome(s, "print(pycell_host.call('add', {'a': 40.0, 'b': 2}))"), "42\n");
}

TEST(HostFunctions, UngrantedFunctionIsRefused) {
  Session s = new_session(with({add_function()}));
  EXPECT_EQ(outcome(s, "import pycell_host\npycell_host.delete_everything()"),
            "AttributeError: the host did not grant a function named 'delete_everything' (granted: add)");
  EXPECT_EQ(outcome(s, "import _pycell_host, json\npycell_host.call('delete_everything', {})"),
            "PermissionError: host function 'delete_everything' is not granted");
  // A session without functions has the module, and nothing in it.
  Session bare = new_session();
  EXPECT_EQ(outcome(bare, "import pycell_host\npycell_host.add(1, 2)"),
            "AttributeError: the host did not grant a function named 'add' (granted: none)");
}

TEST(HostFunctions, HostErrorsAreSanitized) {
  HostFunction f;
  f.name = "fail";
  f.callback = [](const HostCall&) -> Result<std::string> {
    return Error(ErrorCode::kIo, "open(\"/srv/secret/config.yaml\") failed:\n  at /usr/lib/x.so");
  };
  HostFunction thrower;
  thrower.name = "throws";
  thrower.callback = [](const HostCall&) -> Result<std::string> { throw std::runtime_error("/home/me/leak"); };
  Session s = new_session(with({f, thrower}));
  EXPECT_EQ(outcome(s, "import pycell_host\npycell_host.fail()"),
            "pycell_host.HostError: open(\"<path>\") failed:   at <path>");
  EXPECT_EQ(outcome(s, "pycell_host.throws()"), "pycell_host.HostError: the host function failed");
}

TEST(HostFunctions, ArgumentAndResultSizesAreCapped) {
  HostFunction big;
  big.name = "big";
  big.callback = [](const HostCall&) -> Result<std::string> { return json(std::string(5000, 'x')).dump(); };
  SessionConfig c = with({echo_function(), big});
  c.limits.host_call_bytes = 1000;
  c.limits.host_result_bytes = 4000;
  Session s = new_session(c);
  EXPECT_EQ(outcome(s, "import pycell_host\npycell_host.echo('y' * 2000)"),
            "ValueError: arguments of echo() are 2012 bytes; the limit is 1000");
  EXPECT_EQ(outcome(s, "pycell_host.big()"), "pycell_host.HostError: the result of big() is 5002 bytes; the limit is 4000");
  EXPECT_EQ(outcome(s, "print(len(pycell_host.echo('y' * 900)))"), "900\n");
}

TEST(HostFunctions, TimeInHostCountsTowardDeadline) {
  HostFunction slow;
  slow.name = "slow";
  std::chrono::steady_clock::time_point seen_deadline;
  slow.callback = [&](const HostCall& call) -> Result<std::string> {
    seen_deadline = call.deadline;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    return std::string("1");
  };
  SessionConfig c = with({slow});
  c.limits.timeout_ms = 200;
  Session s = new_session(c);
  const auto before = std::chrono::steady_clock::now();
  auto r = s.exec("import pycell_host\npycell_host.slow()\nprint('after')");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->exit_reason, ExitReason::kTimeout);
  EXPECT_EQ(r->stdout_text, "");
  EXPECT_GT(seen_deadline, before);
  EXPECT_LT(seen_deadline, before + std::chrono::milliseconds(400));
}

TEST(HostFunctions, GlobalsAreInjectedAndProtected) {
  SessionConfig c = with({add_function()});
  c.functions_as_globals = true;
  Session s = new_session(c);
  EXPECT_EQ(outcome(s, "print(add(1, 2))"), "3\n");
  const std::string protected_msg = "NameError: 'add' is protected by the host: it cannot be rebound or deleted";
  EXPECT_EQ(outcome(s, "add = 5"), protected_msg);
  EXPECT_EQ(outcome(s, "del add"), protected_msg);
  EXPECT_EQ(outcome(s, "def add(): pass"), protected_msg);
  EXPECT_EQ(outcome(s, "import json as add"), protected_msg);
  EXPECT_EQ(outcome(s, "def f():\n    global add\n    add = 1\nf()"), protected_msg);
  EXPECT_EQ(outcome(s, "print(add(2, 2))"), "4\n");
  // A dynamic rebinding is undone when the cell ends, and said so.
  auto r = s.exec("globals()['add'] = 0");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->stderr_text, "pycell: 'add' is protected by the host; its binding was restored\n");
  EXPECT_EQ(outcome(s, "print(add(3, 3))"), "6\n");
  // Class bodies and local variables may use the name freely.
  EXPECT_EQ(outcome(s, "class C:\n    add = 1\ndef g():\n    add = 2\n    return add\nprint(C.add, g())"), "1 2\n");
}

TEST(HostFunctions, UnprotectedGlobalsMayBeRebound) {
  SessionConfig c = with({add_function()});
  c.functions_as_globals = true;
  c.protect_functions = false;
  Session s = new_session(c);
  EXPECT_EQ(outcome(s, "add = 5\nprint(add)"), "5\n");
}

TEST(HostFunctions, RegistrationIsValidated) {
  auto bad = [](HostFunction f) {
    auto s = Session::create(testing::test_engine(), with({std::move(f)}));
    return s ? std::string("created") : s.error().message();
  };
  HostFunction f = add_function();
  f.name = "_private";
  EXPECT_EQ(bad(f), "host function \"_private\": the name must be a Python identifier not starting with '_'");
  f = add_function();
  f.name = "class";
  EXPECT_EQ(bad(f), "host function \"class\": the name must be a Python identifier not starting with '_'");
  f = add_function();
  f.parameters = "{";
  EXPECT_EQ(bad(f), "host function \"add\": parameters are not valid JSON");
  f = add_function();
  f.parameters = R"({"type":"object","properties":{"a":{"type":"bigint"}}})";
  EXPECT_EQ(bad(f), "host function \"add\": property \"a\": unknown type \"bigint\"");
  f = add_function();
  f.callback = nullptr;
  EXPECT_EQ(bad(f), "host function \"add\" has no callback");
  EXPECT_EQ(bad(add_function()), "created");
}

TEST(HostFunctions, SanitizeRemovesPathsAndControls) {
  EXPECT_EQ(HostFunctions::sanitize("no such file /etc/passwd\n"), "no such file <path> ");
  EXPECT_EQ(HostFunctions::sanitize("ratio 1/2 is fine"), "ratio 1/2 is fine");
  EXPECT_EQ(HostFunctions::sanitize(std::string(1000, 'a')).size(), 403u);
  EXPECT_EQ(HostFunctions::sanitize("at=/a/b, [/c/d] (/e/f) '/g/h' `/i/j` //k/l /m"),
            "at=<path> [<path> (<path>) '<path>' `<path>` //k/l /m");
  EXPECT_EQ(HostFunctions::sanitize("/usr/lib/x.so:12: bad"), "<path> bad");
}

// A tool that echoes guest input in its error (FileNotFoundError(path)): the
// recursive std::regex the sanitizer used overflowed the host's stack on ~30 KB.
TEST(HostFunctions, HugePathLikeErrorIsSanitizedWithoutRecursion) {
  std::string path;
  while (path.size() < 1'000'000) path += "/ab";
  EXPECT_EQ(HostFunctions::sanitize("no such file: " + path), "no such file: <path>");
  EXPECT_EQ(HostFunctions::sanitize(path + " " + std::string(1000, 'x')), "<path> " + std::string(393, 'x') + "...");

  HostFunction f;
  f.name = "open_file";
  f.parameters = R"({"type":"object","properties":{"path":{"type":"string"}},"required":["path"]})";
  f.callback = [](const HostCall& call) -> Result<std::string> {
    return Error(ErrorCode::kNotFound, "No such file or directory: " + json::parse(call.args_json)["path"].dump());
  };
  Session s = new_session(with({f}));
  EXPECT_EQ(outcome(s, "import pycell_host\npycell_host.open_file('/x' * 30000)"),
            "pycell_host.HostError: No such file or directory: \"<path>\"");
}

std::string nested(size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

// nlohmann parses iteratively but validates, copies and dumps recursively: a
// deep argument must be refused before anything walks it.
TEST(HostFunctions, DeeplyNestedArgumentsAreRefused) {
  int calls = 0;
  HostFunction f;
  f.name = "take";
  f.parameters = R"({"type":"object","properties":{"value":{}}})";
  f.callback = [&](const HostCall&) -> Result<std::string> {
    ++calls;
    return std::string("1");
  };
  Session s = new_session(with({f}));
  const std::string call = "import _pycell_host, json\nst, r = _pycell_host.call('take', b'{\"value\":' + b'[' * ";
  EXPECT_EQ(outcome(s, call + "100000 + b']' * 100000 + b'}')\nprint(st, json.loads(r))"),
            "9 take(): the arguments are nested deeper than 256 levels\n");
  EXPECT_EQ(calls, 0);
  // pycell_host raises ValueError for that status.
  EXPECT_EQ(outcome(s, "import pycell_host\nraise pycell_host._EXCEPTIONS[st](json.loads(r))"),
            "ValueError: take(): the arguments are nested deeper than 256 levels");
  EXPECT_EQ(outcome(s, call + "255 + b']' * 255 + b'}')\nprint(st, r)"), "0 b'1'\n");
  EXPECT_EQ(calls, 1);
}

TEST(HostFunctions, DeeplyNestedResultIsAHostError) {
  HostFunction f;
  f.name = "deep";
  f.callback = [](const HostCall&) -> Result<std::string> { return nested(100'000); };
  HostFunction bad;
  bad.name = "bad";
  bad.callback = [](const HostCall&) -> Result<std::string> { return std::string("[1,"); };
  Session s = new_session(with({f, bad}));
  EXPECT_EQ(outcome(s, "import pycell_host\npycell_host.deep()"),
            "pycell_host.HostError: deep() returned JSON nested deeper than 256 levels");
  EXPECT_EQ(outcome(s, "pycell_host.bad()"), "pycell_host.HostError: bad() returned invalid JSON");
  EXPECT_EQ(outcome(s, "print(len('x'))"), "1\n");  // the session lives on
}

TEST(HostFunctions, DeeplyNestedSchemaIsRefusedAtCreate) {
  HostFunction f = add_function();
  f.parameters = nested(100'000);
  auto s = Session::create(testing::test_engine(), with({f}));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message(), "host function \"add\": parameters are JSON nested deeper than 256 levels");
}

std::string outcome_of(const Result<void>& r) { return r ? "ok" : r.error().message(); }
template <class T>
std::string outcome_of(const Result<T>& r) {
  return r ? "ok" : r.error().message();
}

// A host function runs with the guest suspended on the session's instance: a
// second run would reset the first one's budget, and a rollback or restore
// would free the memory the suspended frames resume on.
TEST(HostFunctions, CallbacksCannotReenterTheirSession) {
  Session* self = nullptr;
  std::optional<Snapshot> snap;
  HostFunction f;
  f.name = "reenter";
  f.callback = [&](const HostCall&) -> Result<std::string> {
    json seen = json::array();
    seen.push_back(outcome_of(self->exec("1")));
    seen.push_back(outcome_of(self->snapshot()));
    seen.push_back(outcome_of(self->fork()));
    seen.push_back(outcome_of(self->set_variables(R"({"y": 1})")));
    seen.push_back(outcome_of(self->get_variable("x")));
    seen.push_back(outcome_of(self->restore(*snap)));
    // /tmp is not the guest's stack or memory: a tool may hand it files.
    seen.push_back(outcome_of(self->put_file("from_host.txt", "hello")));
    seen.push_back(outcome_of(self->get_file("from_guest.txt")));
    return seen.dump();
  };
  Session s = new_session(with({f}));
  self = &s;
  exec_ok(s, "x = 1");
  snap = s.snapshot().value();
  const std::string busy = ": the session is running code; its own host functions and output callback cannot use it";
  ExecResult r = exec_ok(s,
                         "import pycell_host\nopen('/tmp/from_guest.txt', 'w').write('hi')\n"
                         "for line in pycell_host.reenter(): print(line)\nprint(open('/tmp/from_host.txt').read())");
  EXPECT_EQ(r.stdout_text, "exec" + busy + "\nsnapshot" + busy + "\nfork" + busy + "\nset_variables" + busy +
                               "\nget_variable" + busy + "\nrestore" + busy + "\nok\nok\nhello\n");
  EXPECT_EQ(r.exit_reason, ExitReason::kOk);
  EXPECT_EQ(outcome(s, "print(x, 'y' in globals())"), "1 False\n");
}

TEST(HostFunctions, OutputCallbackCannotReenterItsSession) {
  Session s = new_session();
  std::string seen;
  ExecOptions o;
  o.on_output = [&](Stream, std::string_view) {
    if (seen.empty()) seen = outcome_of(s.exec("1"));
  };
  ExecResult r = testing::exec_ok(s, "print('hi')", o);
  EXPECT_EQ(r.stdout_text, "hi\n");
  EXPECT_EQ(seen, "exec: the session is running code; its own host functions and output callback cannot use it");
}

}  // namespace
}  // namespace pycell
