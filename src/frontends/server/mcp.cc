// McpServer: lifecycle (initialize, ping), tools/list and tools/call for the
// sandbox tools. Failures of a tool's work (a Python exception, a limit, an
// unknown session) are tool results with isError, as the spec asks, so the
// model sees them; only malformed calls are JSON-RPC errors.
#include "mcp.h"

#include <array>

#include "common/echo.h"
#include "common/policy.h"

namespace pycell::server {
namespace {

constexpr std::array<const char*, 3> kVersions = {"2025-06-18", "2025-03-26", "2024-11-05"};

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

json session_id_schema() { return {{"type", "string"}, {"description", "an id returned by create_session"}}; }

json object_schema(json properties, json required) {
  return {{"type", "object"}, {"properties", std::move(properties)}, {"required", std::move(required)}};
}

std::string missing_session(const std::string& id, uint64_t idle_ms) {
  return "No session '" + policy::echo(id) + "': it was closed, or expired after " + std::to_string(idle_ms / 60000) +
         " minutes without use. Call create_session for a new one.";
}

}  // namespace

bool supported_protocol_version(std::string_view version) {
  for (const char* v : kVersions) {
    if (version == v) return true;
  }
  return false;
}

json jsonrpc_error(const json& id, int code, std::string_view message) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", std::string(message)}}}};
}

Envelope check_envelope(const json& message, std::optional<json>& error) {
  Envelope env;
  auto invalid = [&](const json& id, std::string_view why) {
    error = jsonrpc_error(id, kInvalidRequest, why);
    return env;
  };
  if (!message.is_object()) {
    // Batches were removed from MCP in 2025-06-18.
    return invalid(nullptr, "expected one JSON-RPC message object (batches are not supported)");
  }
  // Every member is looked up with find() and type-checked before use: a
  // client may send any JSON type in any of them.
  auto id = message.find("id");
  auto method = message.find("method");
  const bool has_id = id != message.end();
  const bool valid_id = has_id && (id->is_string() || id->is_number());
  const json echo_id = valid_id ? *id : json(nullptr);
  if (method == message.end() && has_id && (message.contains("result") || message.contains("error"))) {
    env.kind = Envelope::Kind::kResponse;  // to a request we never send: ignored
    return env;
  }
  auto version = message.find("jsonrpc");
  if (version == message.end() || !version->is_string() || *version != "2.0") {
    return invalid(echo_id, "not a JSON-RPC 2.0 message: \"jsonrpc\" must be \"2.0\"");
  }
  if (method == message.end() || !method->is_string()) {
    return invalid(echo_id, "not a JSON-RPC 2.0 request: \"method\" must be a string");
  }
  if (has_id && !valid_id) return invalid(nullptr, "\"id\" must be a string or a number");
  env.kind = has_id ? Envelope::Kind::kRequest : Envelope::Kind::kNotification;
  env.id = echo_id;
  env.method = method->get<std::string>();
  if (auto params = message.find("params"); params != message.end()) env.params = &*params;
  return env;
}

std::optional<json> McpServer::handle(McpClient& client, const Envelope& message) {
  // Notifications (initialized, cancelled, ...) need no answer, and a
  // response to a request this server never sent is ignored.
  if (message.kind != Envelope::Kind::kRequest) return std::nullopt;
  const json& id = message.id;
  const json no_params = json::object();
  const json& params = message.params ? *message.params : no_params;
  if (!params.is_object()) return jsonrpc_error(id, kInvalidParams, "params must be an object");
  auto ok = [&](json result) { return json{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}}; };
  const std::string& method = message.method;

  if (method == "initialize") {
    auto version = params.find("protocolVersion");
    if (version == params.end() || !version->is_string()) {
      return jsonrpc_error(id, kInvalidParams, "initialize needs params.protocolVersion (a string)");
    }
    return ok(initialize(client, version->get<std::string>()));
  }
  if (method == "ping") return ok(json::object());
  if (!client.initialized) {
    return jsonrpc_error(id, kInvalidRequest, "not initialized: send initialize first");
  }
  if (method == "tools/list") return ok(list_tools());
  if (method == "tools/call") {
    bool protocol_error = false;
    json r = call_tool(client, params, protocol_error);
    if (protocol_error) return jsonrpc_error(id, r["code"].get<int>(), r["message"].get<std::string>());
    return ok(std::move(r));
  }
  return jsonrpc_error(id, kMethodNotFound, "method not found: " + policy::echo(method));
}

json McpServer::initialize(McpClient& client, const std::string& protocol_version) {
  client.protocol_version = supported_protocol_version(protocol_version) ? protocol_version : kMcpProtocolVersion;
  client.initialized = true;
  return {
      {"protocolVersion", client.protocol_version},
      {"capabilities", {{"tools", {{"listChanged", false}}}}},
      {"serverInfo", {{"name", "pycell"}, {"title", "pycell Python sandbox"}, {"version", PYCELL_VERSION}}},
      {"instructions", ctx_.sandbox_summary() +
                           "\nUse run_python to run code. Each call without session_id starts from a fresh "
                           "interpreter; create_session gives a session whose variables, imports and /tmp files "
                           "persist across run_python calls until close_session."},
  };
}

json McpServer::list_tools() {
  const ServerConfig& cfg = ctx_.config();
  const std::string& summary = ctx_.sandbox_summary();
  bool network = cfg.session.http.has_value();
  json run_python = {
      {"name", "run_python"},
      {"title", "Run Python"},
      {"description",
       "Runs Python code and returns its stdout, stderr, the value of the last expression, and the "
       "traceback if it raised. Top-level await works, as in a notebook.\n" +
           summary +
           "\nWithout session_id every call starts from a fresh interpreter and nothing is kept. To keep "
           "variables, imports and files across calls, call create_session once and pass its session_id."},
      {"inputSchema", object_schema({{"code", {{"type", "string"}, {"description", "Python source to run"}}},
                                     {"session_id", session_id_schema()}},
                                    {"code"})},
      {"outputSchema", exec_result_schema()},
      {"annotations",
       {{"readOnlyHint", false}, {"destructiveHint", false}, {"idempotentHint", false}, {"openWorldHint", network}}},
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
        "Starts a persistent Python session (same sandbox as run_python) and returns its "
        "session_id. Variables, imports and /tmp files persist across run_python calls that pass "
        "it. At most " +
            std::to_string(cfg.max_sessions) + " sessions are open on this server; one unused for " +
            std::to_string(cfg.session_idle_ms / 60000) + " minutes is closed."},
       {"inputSchema", object_schema(json::object(), json::array())},
       {"outputSchema", id_out}},
      {{"name", "reset_session"},
       {"title", "Reset a Python session"},
       {"description",
        "Discards everything in a session (variables, imports, /tmp files) and gives it a "
        "fresh interpreter; the session_id stays valid."},
       {"inputSchema", object_schema({{"session_id", session_id_schema()}}, {"session_id"})},
       {"outputSchema", id_out}},
      {{"name", "close_session"},
       {"title", "Close a Python session"},
       {"description", "Closes a session and frees its memory; a run in progress in it is stopped."},
       {"inputSchema", object_schema({{"session_id", session_id_schema()}}, {"session_id"})},
       {"outputSchema", id_out}},
      {{"name", "list_sessions"},
       {"title", "List Python sessions"},
       {"description", "Lists the sessions this client has open, with their age, idle time and run count."},
       {"inputSchema", object_schema(json::object(), json::array())},
       {"outputSchema", object_schema({{"sessions", sessions_schema}, {"max_sessions", {{"type", "integer"}}}},
                                      {"sessions", "max_sessions"})}},
  });
  for (auto& t : tools) {
    if (!t.contains("annotations")) {
      t["annotations"] = {{"readOnlyHint", t["name"] == "list_sessions"}, {"openWorldHint", false}};
    }
  }
  return {{"tools", tools}};
}

json McpServer::call_tool(McpClient& client, const json& params, bool& protocol_error) {
  auto invalid = [&](std::string msg) {
    protocol_error = true;
    return json{{"code", kInvalidParams}, {"message", std::move(msg)}};
  };
  auto name_it = params.find("name");
  if (name_it == params.end() || !name_it->is_string()) return invalid("tools/call needs params.name (a string)");
  const std::string name = name_it->get<std::string>();
  const json no_args = json::object();
  auto args_it = params.find("arguments");
  const json& args = args_it == params.end() ? no_args : *args_it;
  if (!args.is_object()) return invalid("arguments must be an object");
  auto string_arg = [&](const char* key, bool required, std::string& out) -> std::optional<json> {
    auto it = args.find(key);
    if (it == args.end()) {
      if (required) return invalid("Invalid arguments for " + name + ": '" + key + "' is required");
      return std::nullopt;
    }
    if (!it->is_string()) return invalid("Invalid arguments for " + name + ": '" + key + "' must be a string");
    out = it->get<std::string>();
    return std::nullopt;
  };
  const ServerConfig& cfg = ctx_.config();
  SessionRegistry& reg = ctx_.sessions();
  std::string session_id;

  if (name == "run_python") {
    std::string code;
    if (auto e = string_arg("code", true, code)) return *e;
    if (auto e = string_arg("session_id", false, session_id)) return *e;
    if (session_id.empty()) {
      auto r = ctx_.exec_stateless(code, {}, std::nullopt);
      if (!r) return text_result(r.error().message(), true);
      json out = structured_result(run_text(*r, cfg.session.limits), policy::to_json(*r));
      out["isError"] = run_failed(*r);
      return out;
    }
    auto use = reg.use(session_id, client.owner);
    if (!use) return text_result(missing_session(session_id, cfg.session_idle_ms), true);
    auto r = (*use)->exec(code);
    use->entry().execs++;
    if (!r) {
      return text_result(r.error().message() + ". Call reset_session to start it afresh.", true);
    }
    json structured = policy::to_json(*r);
    structured["session_id"] = session_id;
    json out = structured_result(run_text(*r, use->entry().config.limits), std::move(structured));
    out["isError"] = run_failed(*r);
    return out;
  }
  if (name == "create_session") {
    auto id = reg.create(client.owner, cfg.session);
    if (!id) return text_result(id.error().message(), true);
    return structured_result("Created session " + *id + ". Pass it as session_id to run_python.",
                             {{"session_id", *id}});
  }
  if (name == "reset_session") {
    if (auto e = string_arg("session_id", true, session_id)) return *e;
    auto use = reg.use(session_id, client.owner);
    if (!use) return text_result(missing_session(session_id, cfg.session_idle_ms), true);
    auto r = reg.reset(*use);
    if (!r) return text_result(r.error().message(), true);
    return structured_result("Session " + session_id + " now has a fresh interpreter.", {{"session_id", session_id}});
  }
  if (name == "close_session") {
    if (auto e = string_arg("session_id", true, session_id)) return *e;
    if (!reg.close(session_id, client.owner)) {
      return text_result(missing_session(session_id, cfg.session_idle_ms), true);
    }
    return structured_result("Closed session " + session_id + ".", {{"session_id", session_id}});
  }
  if (name == "list_sessions") {
    json list = json::array();
    std::string text;
    for (const auto& s : reg.list(client.owner)) {
      list.push_back(
          {{"session_id", s.id}, {"age_ms", s.age_ms}, {"idle_ms", s.idle_ms}, {"execs", s.execs}, {"busy", s.busy}});
      text += s.id + " (runs: " + std::to_string(s.execs) + ", idle " + std::to_string(s.idle_ms / 1000) + " s)\n";
    }
    if (text.empty()) text = "No open sessions.";
    return structured_result(text, {{"sessions", list}, {"max_sessions", cfg.max_sessions}});
  }
  return invalid("Unknown tool: " + policy::echo(name));
}

}  // namespace pycell::server
