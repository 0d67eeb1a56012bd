// The sandbox tools of McpServer: run_python, the session tools and the
// file tools. Failures of a tool's work (a Python exception, a limit, an
// unknown session) and arguments that do not fit a tool's inputSchema are
// tool results with isError (2025-11-25 server/tools "Error Handling": input
// validation errors are tool execution errors), so the model can read and
// fix them; only an unknown tool or a call that is not a CallToolRequest at
// all is a JSON-RPC error.
#include <algorithm>
#include <array>

#include "base64.h"
#include "common/echo.h"
#include "common/policy.h"
#include "mcp.h"
#include "mcp_progress.h"

namespace pycell::server {
namespace {

json text_result(std::string text, bool is_error) {
  return {{"content", json::array({{{"type", "text"}, {"text", std::move(text)}}})}, {"isError", is_error}};
}

json structured_result(std::string text, json structured) {
  json r = text_result(std::move(text), false);
  r["structuredContent"] = std::move(structured);
  return r;
}

/// Why a run stopped, in words a model can act on; empty for ok/exception.
std::string stop_note(const ExecResult& r, const Limits& l) {
  switch (r.exit_reason) {
    case ExitReason::kOk:
    case ExitReason::kException:
      return {};
    case ExitReason::kExit:
      return "The code called exit with status " + std::to_string(r.exit_code) + ".";
    case ExitReason::kTimeout:
      return "Stopped: the wall-clock limit of " + std::to_string(l.timeout_ms) + " ms was reached.";
    case ExitReason::kFuel:
      return "Stopped: the CPU budget of " + std::to_string(l.fuel) + " fuel units was used up.";
    case ExitReason::kMemory:
      return "Stopped: the memory limit of " + policy::format_bytes(l.memory_bytes) + " was reached.";
    case ExitReason::kOutputLimit:
      return "Stopped: output ran far past the " + policy::format_bytes(l.output_bytes) + " cap.";
    case ExitReason::kCancelled:
      return "Stopped: the run was cancelled.";
    case ExitReason::kTrap:
      return "Stopped: the interpreter trapped (" + std::string(to_string(r.trap)) + ").";
  }
  return {};
}

/// The text content of a run_python result: what a model reads.
std::string run_text(const ExecResult& r, const Limits& l) {
  std::string out;
  auto section = [&](std::string_view title, std::string_view body) {
    if (body.empty()) return;
    if (!out.empty() && out.back() != '\n') out += '\n';
    if (!title.empty()) {
      out += title;
      out += '\n';
    }
    out += body;
  };
  section("", r.stdout_text);
  if (r.stdout_truncated) section("", "[stdout truncated]");
  section("[stderr]", r.stderr_text);
  if (r.stderr_truncated) section("", "[stderr truncated]");
  if (r.value_repr) section("", "[value] " + *r.value_repr);
  if (r.error && r.stderr_text.find(r.error->type) == std::string::npos) {
    section("", "[exception] " + r.error->type + ": " + r.error->message);
  }
  section("", stop_note(r, l));
  if (r.rolled_back) section("", "The session was rolled back to its last committed state.");
  if (out.empty()) out = "(no output)";
  return out;
}

bool run_failed(const ExecResult& r) {
  if (r.exit_reason == ExitReason::kOk) return false;
  if (r.exit_reason == ExitReason::kExit) return r.exit_code != 0;
  return true;
}

json session_id_schema(bool nullable) {
  json s = {{"type", nullable ? json::array({"string", "null"}) : json("string")},
            {"description", nullable ? "an id returned by create_session; omitted or null: a fresh interpreter "
                                       "that is discarded afterwards"
                                     : "an id returned by create_session"}};
  return s;
}

json object_schema(json properties, json required) {
  return {{"type", "object"}, {"properties", std::move(properties)}, {"required", std::move(required)}};
}

std::string missing_session(const std::string& id, Absence why, uint64_t idle_ms) {
  const std::string quoted = "'" + policy::echo(id) + "'";
  switch (why) {
    case Absence::kExpired:
      return "Session " + quoted + " expired: it was not used for " + duration_words(idle_ms) +
             ", and this server closes idle sessions then. Its variables and files are gone; call create_session "
             "for a new one.";
    case Absence::kClosed:
      return "Session " + quoted + " was closed (close_session). Call create_session for a new one.";
    case Absence::kUnknown:
      break;
  }
  return "No session " + quoted +
         " exists for you on this server: check the id (create_session returns it); a session closed or expired "
         "long ago, or before the server restarted, is forgotten too. Call create_session for a new one.";
}

bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const uint8_t c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    const size_t n = (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : 0;
    if (n == 0 || i + n >= s.size()) return false;
    uint32_t cp = c & (0x3F >> n);
    for (size_t k = 1; k <= n; ++k) {
      const uint8_t d = s[i + k];
      if ((d >> 6) != 2) return false;
      cp = cp << 6 | (d & 63);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

/// What run_python's annotations say follows from the server's grants: a
/// writable mount or a host function lets code change things outside the
/// sandbox (2025-11-25 server/tools "ToolAnnotations").
json run_annotations(const SessionConfig& sc) {
  bool writable = false;
  for (const auto& m : sc.mounts) writable |= m.access != Mount::Access::kReadOnly;
  const bool host_functions = !sc.functions.empty();
  return {{"readOnlyHint", false},
          {"destructiveHint", writable || host_functions},
          {"idempotentHint", false},
          {"openWorldHint", sc.http.has_value() || host_functions}};
}

json annotations(bool read_only, bool destructive, bool idempotent) {
  json a = {{"readOnlyHint", read_only}, {"openWorldHint", false}};
  if (!read_only) {
    a["destructiveHint"] = destructive;
    a["idempotentHint"] = idempotent;
  }
  return a;
}

}  // namespace


json McpServer::list_tools() {
  const ServerConfig& cfg = ctx_.config();
  const std::string& summary = ctx_.sandbox_summary();
  const std::string idle = duration_words(cfg.session_idle_ms);
  json path_schema = {{"type", "string"}, {"description", "a path under /tmp (absolute, or relative to /tmp)"}};
  json encoding_schema = {{"type", "string"},
                          {"enum", {"utf-8", "base64"}},
                          {"description", "how content is written: text (utf-8, the default) or base64 bytes"}};
  json run_python = {
      {"name", "run_python"},
      {"title", "Run Python"},
      {"description",
       "Runs Python code and returns its stdout, stderr, the value of the last expression (also as JSON in "
       "value_json when it is JSON-serializable), and the traceback if it raised. Top-level await works, as in a "
       "notebook.\n" +
           summary +
           "\nWithout session_id every call starts from a fresh interpreter and nothing is kept. To keep "
           "variables, imports and files across calls, call create_session once and pass its session_id. "
           "`variables` binds names to JSON values before the code runs. With a progressToken, output is "
           "streamed as progress notifications while the code runs."},
      {"inputSchema",
       object_schema({{"code", {{"type", "string"}, {"description", "Python source to run"}}},
                      {"session_id", session_id_schema(true)},
                      {"variables",
                       {{"type", "object"},
                        {"description",
                         "global variables to bind before the code runs: name -> JSON value (dicts, lists, "
                         "strings, numbers, booleans, null)"}}}},
                     {"code"})},
      {"outputSchema", exec_result_schema()},
      {"annotations", run_annotations(cfg.session)},
  };
  json sessions_schema = {{"type", "array"},
                          {"items", object_schema({{"session_id", {{"type", "string"}}},
                                                   {"age_ms", {{"type", "integer"}}},
                                                   {"idle_ms", {{"type", "integer"}}},
                                                   {"execs", {{"type", "integer"}}},
                                                   {"busy", {{"type", "boolean"}}}},
                                                  {"session_id", "age_ms", "idle_ms", "execs", "busy"})}};
  json id_out = object_schema({{"session_id", {{"type", "string"}}}}, {"session_id"});
  json tools = json::array({
      run_python,
      {{"name", "create_session"},
       {"title", "Create a Python session"},
       {"description",
        "Starts a persistent Python session (same sandbox as run_python) and returns its session_id. Variables, "
        "imports and /tmp files persist across run_python calls that pass it, from any connection of yours. You "
        "may have " +
            std::to_string(ctx_.sessions().limits().max_per_owner) + " sessions open; one unused for " + idle +
            " is closed."},
       {"inputSchema", object_schema(json::object(), json::array())},
       {"outputSchema", id_out},
       {"annotations", annotations(false, false, false)}},
      {{"name", "reset_session"},
       {"title", "Reset a Python session"},
       {"description",
        "Discards everything in a session (variables, imports, /tmp files) and gives it a fresh interpreter; the "
        "session_id stays valid."},
       {"inputSchema", object_schema({{"session_id", session_id_schema(false)}}, {"session_id"})},
       {"outputSchema", id_out},
       {"annotations", annotations(false, true, true)}},
      {{"name", "close_session"},
       {"title", "Close a Python session"},
       {"description", "Closes a session and frees its memory; a run in progress in it is stopped."},
       {"inputSchema", object_schema({{"session_id", session_id_schema(false)}}, {"session_id"})},
       {"outputSchema", id_out},
       {"annotations", annotations(false, true, true)}},
      {{"name", "list_sessions"},
       {"title", "List Python sessions"},
       {"description", "Lists your open sessions, with their age, idle time and run count."},
       {"inputSchema", object_schema(json::object(), json::array())},
       {"outputSchema", object_schema({{"sessions", sessions_schema}, {"max_sessions", {{"type", "integer"}}}},
                                      {"sessions", "max_sessions"})},
       {"annotations", annotations(true, false, true)}},
      {{"name", "write_file"},
       {"title", "Write a file into a session"},
       {"description",
        "Writes a file into a session's /tmp (missing directories are created; an existing file is replaced), "
        "for code run in the session to read."},
       {"inputSchema", object_schema({{"session_id", session_id_schema(false)},
                                      {"path", path_schema},
                                      {"content", {{"type", "string"}, {"description", "the file's content"}}},
                                      {"encoding", encoding_schema}},
                                     {"session_id", "path", "content"})},
       {"outputSchema",
        object_schema({{"path", {{"type", "string"}}}, {"bytes", {{"type", "integer"}}}}, {"path", "bytes"})},
       {"annotations", annotations(false, true, true)}},
      {{"name", "read_file"},
       {"title", "Read a file from a session"},
       {"description",
        "Reads a file from a session's /tmp: as text if it is UTF-8, else as base64 (encoding says which)."},
       {"inputSchema", object_schema({{"session_id", session_id_schema(false)}, {"path", path_schema}},
                                     {"session_id", "path"})},
       {"outputSchema", object_schema({{"path", {{"type", "string"}}},
                                       {"bytes", {{"type", "integer"}}},
                                       {"encoding", {{"type", "string"}, {"enum", {"utf-8", "base64"}}}},
                                       {"content", {{"type", "string"}}}},
                                      {"path", "bytes", "encoding", "content"})},
       {"annotations", annotations(true, false, true)}},
      {{"name", "list_files"},
       {"title", "List a session's files"},
       {"description", "Lists every file and directory under a session's /tmp, with sizes."},
       {"inputSchema", object_schema({{"session_id", session_id_schema(false)}}, {"session_id"})},
       {"outputSchema",
        object_schema({{"files",
                        {{"type", "array"},
                         {"items", object_schema({{"path", {{"type", "string"}}},
                                                  {"directory", {{"type", "boolean"}}},
                                                  {"bytes", {{"type", "integer"}}}},
                                                 {"path", "directory", "bytes"})}}}},
                      {"files"})},
       {"annotations", annotations(true, false, true)}},
      {{"name", "delete_file"},
       {"title", "Delete a session's file"},
       {"description", "Removes a file, or a directory with everything in it, from a session's /tmp."},
       {"inputSchema", object_schema({{"session_id", session_id_schema(false)}, {"path", path_schema}},
                                     {"session_id", "path"})},
       {"outputSchema", object_schema({{"path", {{"type", "string"}}}}, {"path"})},
       {"annotations", annotations(false, true, true)}},
  });
  return {{"tools", tools}};
}

json McpServer::call_tool(const std::string& owner, const json& params, RequestContext* rc, bool& protocol_error) {
  auto protocol = [&](std::string msg) {
    protocol_error = true;
    return json{{"code", kInvalidParams}, {"message", std::move(msg)}};
  };
  auto name_it = params.find("name");
  if (name_it == params.end() || !name_it->is_string()) return protocol("tools/call needs params.name (a string)");
  const std::string name = name_it->get<std::string>();
  const json no_args = json::object();
  auto args_it = params.find("arguments");
  const json& args = args_it == params.end() || args_it->is_null() ? no_args : *args_it;
  if (!args.is_object()) return protocol("tools/call: params.arguments must be an object");
  static constexpr std::array<const char*, 9> kTools = {"run_python",    "create_session", "reset_session",
                                                        "close_session", "list_sessions",  "write_file",
                                                        "read_file",     "list_files",     "delete_file"};
  if (std::find(kTools.begin(), kTools.end(), name) == kTools.end()) {
    return protocol("Unknown tool: " + policy::echo(name));
  }

  // Arguments that do not fit the tool's inputSchema: a result the model reads.
  std::optional<json> bad;
  auto invalid = [&](std::string msg) {
    bad = text_result("Invalid arguments for " + name + ": " + std::move(msg), true);
  };
  auto string_arg = [&](const char* key, bool required, std::string& out, bool nullable = false) {
    if (bad) return;
    auto it = args.find(key);
    if (it == args.end() || (nullable && it->is_null())) {
      if (required) invalid(std::string("'") + key + "' is required");
      return;
    }
    if (!it->is_string()) return invalid(std::string("'") + key + "' must be a string" + (nullable ? " or null" : ""));
    out = it->get<std::string>();
  };
  const ServerConfig& cfg = ctx_.config();
  SessionRegistry& reg = ctx_.sessions();
  std::string session_id;
  std::optional<Error> store_failure;  // the durable store's, when use() fails for it
  auto missing = [&] {
    if (store_failure) return text_result(store_failure->message(), true);
    return text_result(missing_session(session_id, reg.absence(session_id, owner), cfg.session_idle_ms), true);
  };
  // A change is acknowledged only once the durable store has it.
  auto commit_failed = [&](SessionRegistry::Use& use) -> std::optional<json> {
    if (auto c = reg.commit(use); !c) return text_result(c.error().message(), true);
    return std::nullopt;
  };

  if (name == "run_python") {
    std::string code;
    string_arg("code", true, code);
    string_arg("session_id", false, session_id, true);
    std::string variables;
    if (auto it = args.find("variables"); !bad && it != args.end() && !it->is_null()) {
      if (!it->is_object()) {
        invalid("'variables' must be an object of name -> JSON value");
      } else {
        variables = policy::dump(*it);
      }
    }
    if (bad) return *bad;
    ExecOptions options;
    options.want_json = true;
    RequestContext no_rc;
    RequestContext& control = rc ? *rc : no_rc;
    if (session_id.empty()) {
      ProgressReporter progress(control, 2 * cfg.session.limits.output_bytes);
      if (progress.active()) options.on_output = [&](Stream s, std::string_view t) { progress.output(s, t); };
      std::optional<Result<ExecResult>> ran;
      auto admitted = ctx_.with_stateless_session(std::nullopt, [&](Session& s) {
        if (!variables.empty()) {
          if (auto bound = s.set_variables(variables); !bound) {
            ran.emplace(bound.error());
            return;
          }
        }
        control.attach([&s] { s.cancel(); });
        ran.emplace(s.exec(code, options));
        control.detach();  // the session is discarded: a late cancel is harmless
      });
      progress.finish();
      if (!admitted) return text_result(admitted.error().message(), true);
      auto& r = *ran;
      if (!r) return text_result(r.error().message(), true);
      json out = structured_result(run_text(*r, cfg.session.limits), policy::to_json(*r));
      out["isError"] = run_failed(*r);
      return out;
    }
    auto use = reg.use(session_id, owner, &store_failure);
    if (!use) return missing();
    if (!variables.empty()) {
      if (auto bound = (*use)->set_variables(variables); !bound) return text_result(bound.error().message(), true);
    }
    ProgressReporter progress(control, 2 * use->entry().config.limits.output_bytes);
    if (progress.active()) options.on_output = [&](Stream s, std::string_view t) { progress.output(s, t); };
    control.attach([&use] { SessionRegistry::cancel(*use); });
    auto r = (*use)->exec(code, options);
    if (control.detach() && (!r || r->exit_reason != ExitReason::kCancelled)) {
      // The cancel came after the run's last check and would stop the
      // session's next run (an internal run taking it would roll it back).
      (*use)->discard_cancel();
    }
    progress.finish();
    use->entry().execs++;
    if (!r) {
      return text_result(r.error().message() + ". Call reset_session to start it afresh.", true);
    }
    if (auto failed = commit_failed(*use)) return *failed;
    json structured = policy::to_json(*r);
    structured["session_id"] = session_id;
    json out = structured_result(run_text(*r, use->entry().config.limits), std::move(structured));
    out["isError"] = run_failed(*r);
    return out;
  }
  if (name == "create_session") {
    auto id = reg.create(owner, cfg.session);
    if (!id) return text_result(id.error().message(), true);
    return structured_result("Created session " + *id + ". Pass it as session_id to run_python.",
                             {{"session_id", *id}});
  }
  if (name == "list_sessions") {
    json list = json::array();
    std::string text;
    for (const auto& s : reg.list(owner)) {
      list.push_back(
          {{"session_id", s.id}, {"age_ms", s.age_ms}, {"idle_ms", s.idle_ms}, {"execs", s.execs}, {"busy", s.busy}});
      text += s.id + " (runs: " + std::to_string(s.execs) + ", idle " + std::to_string(s.idle_ms / 1000) + " s)\n";
    }
    if (text.empty()) text = "No open sessions.";
    return structured_result(text, {{"sessions", list}, {"max_sessions", reg.limits().max_per_owner}});
  }
  // The rest name a session.
  string_arg("session_id", true, session_id);
  if (name == "close_session") {
    if (bad) return *bad;
    auto closed = reg.close(session_id, owner);
    if (!closed) return text_result(closed.error().message(), true);
    if (!*closed) return missing();
    return structured_result("Closed session " + session_id + ".", {{"session_id", session_id}});
  }
  if (name == "reset_session") {
    if (bad) return *bad;
    auto use = reg.use(session_id, owner, &store_failure);
    if (!use) return missing();
    auto r = reg.reset(*use);
    if (!r) return text_result(r.error().message(), true);
    if (auto failed = commit_failed(*use)) return *failed;
    return structured_result("Session " + session_id + " now has a fresh interpreter.", {{"session_id", session_id}});
  }
  if (name == "list_files") {
    if (bad) return *bad;
    auto use = reg.use(session_id, owner, &store_failure);
    if (!use) return missing();
    auto files = (*use)->list_files();
    if (!files) return text_result(files.error().message(), true);
    json list = json::array();
    std::string text;
    for (const auto& f : *files) {
      list.push_back({{"path", f.path}, {"directory", f.directory}, {"bytes", f.bytes}});
      text += f.path + (f.directory ? "/\n" : " (" + std::to_string(f.bytes) + " bytes)\n");
    }
    if (text.empty()) text = "/tmp is empty.";
    return structured_result(text, {{"files", list}});
  }
  std::string path;
  string_arg("path", true, path);
  if (name == "delete_file") {
    if (bad) return *bad;
    auto use = reg.use(session_id, owner, &store_failure);
    if (!use) return missing();
    if (auto r = (*use)->remove_file(path); !r) return text_result(r.error().message(), true);
    if (auto failed = commit_failed(*use)) return *failed;
    return structured_result("Deleted " + policy::echo(path) + ".", {{"path", path}});
  }
  if (name == "write_file") {
    std::string content, encoding = "utf-8";
    string_arg("content", true, content);
    string_arg("encoding", false, encoding);
    if (!bad && encoding != "utf-8" && encoding != "base64") invalid("'encoding' must be \"utf-8\" or \"base64\"");
    if (bad) return *bad;
    if (encoding == "base64") {
      auto bytes = base64_decode(content);
      if (!bytes) return text_result("Invalid arguments for write_file: 'content' is not valid base64", true);
      content = std::move(*bytes);
    }
    auto use = reg.use(session_id, owner, &store_failure);
    if (!use) return missing();
    if (auto w = (*use)->put_file(path, content); !w) return text_result(w.error().message(), true);
    if (auto failed = commit_failed(*use)) return *failed;
    return structured_result("Wrote " + std::to_string(content.size()) + " bytes to " + policy::echo(path) + ".",
                             {{"path", path}, {"bytes", content.size()}});
  }
  // read_file
  if (bad) return *bad;
  auto use = reg.use(session_id, owner, &store_failure);
  if (!use) return missing();
  auto data = (*use)->get_file(path);
  if (!data) return text_result(data.error().message(), true);
  if (data->size() > cfg.max_body_bytes) {
    return text_result(policy::echo(path) + " holds " + policy::format_bytes(data->size()) +
                           "; read_file returns at most " +
                           policy::format_bytes(cfg.max_body_bytes) + ". Read it in parts with run_python.",
                       true);
  }
  const bool text = valid_utf8(*data);
  json structured = {{"path", path}, {"bytes", data->size()}, {"encoding", text ? "utf-8" : "base64"}};
  structured["content"] = text ? *data : base64_encode(*data);
  json out = {{"structuredContent", structured}, {"isError", false}};
  if (text) {
    out["content"] = json::array({{{"type", "text"}, {"text", *data}}});
  } else {
    const std::string file_uri_path = path.starts_with("/tmp/") ? path : "/tmp/" + path;
    // Bytes travel as an embedded resource's blob (2025-11-25 server/tools
    // "Embedded Resources").
    out["content"] = json::array({{{"type", "resource"},
                                   {"resource",
                                    {{"uri", "file://" + file_uri_path},
                                     {"mimeType", "application/octet-stream"},
                                     {"blob", structured["content"]}}}}});
  }
  return out;
}

}  // namespace pycell::server
