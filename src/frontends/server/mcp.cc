// McpServer: the envelope, the two eras and their lifecycles.
//
// Legacy (up to 2025-11-25): initialize negotiates a revision, then ping,
// tools/list and tools/call. Stateless (2026-07-28, basic/index "_meta",
// basic/versioning, server/discover): a request whose params._meta carries
// io.modelcontextprotocol/protocolVersion is served on its own, whatever came
// before on the connection; it must also carry clientCapabilities (else
// -32602); an unknown version gets UnsupportedProtocolVersionError (-32022)
// listing the supported ones; ping and initialize do not exist there; every
// result has resultType "complete" and the server's identity in _meta.
#include "mcp.h"

#include <array>

#include "common/echo.h"
#include "common/policy.h"

namespace pycell::server {
namespace {

constexpr std::array<const char*, 3> kLegacyVersions = {"2025-11-25", "2025-06-18", "2024-11-05"};
constexpr std::array<const char*, 1> kModernVersions = {"2026-07-28"};

json supported_versions() {
  json all = json::array();
  for (const char* v : kModernVersions) all.push_back(v);
  for (const char* v : kLegacyVersions) all.push_back(v);
  return all;
}

json server_info() { return {{"name", "pycell"}, {"title", "pycell Python sandbox"}, {"version", PYCELL_VERSION}}; }

/// How long list results stay fresh (2026-07-28 server/utilities/caching):
/// the tools are fixed for the life of the server process.
constexpr int64_t kListTtlMs = 5 * 60 * 1000;

const json* find_member(const json& object, const char* key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

const json* meta_of(const json* params) {
  if (!params) return nullptr;
  const json* meta = find_member(*params, "_meta");
  return meta && meta->is_object() ? meta : nullptr;
}

}  // namespace

bool supported_protocol_version(std::string_view version) {
  for (const char* v : kLegacyVersions) {
    if (version == v) return true;
  }
  return false;
}

bool modern_protocol_version(std::string_view version) {
  for (const char* v : kModernVersions) {
    if (version == v) return true;
  }
  return false;
}

std::string duration_words(uint64_t ms) {
  if (ms >= 60000 && ms % 60000 == 0) return std::to_string(ms / 60000) + " minutes";
  if (ms >= 1000 && ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
  return std::to_string(ms) + " ms";
}

bool slow_method(std::string_view method) { return method == "tools/call"; }

json jsonrpc_error(const json& id, int code, std::string_view message) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", std::string(message)}}}};
}

const json* Envelope::modern_version() const {
  const json* meta = meta_of(params);
  return meta ? find_member(*meta, kMetaProtocolVersion) : nullptr;
}

json Envelope::progress_token() const {
  const json* meta = meta_of(params);
  const json* token = meta ? find_member(*meta, "progressToken") : nullptr;
  if (token && (token->is_string() || token->is_number_integer())) return *token;
  return nullptr;
}

json Envelope::cancelled_id() const {
  const json* request = params ? find_member(*params, "requestId") : nullptr;
  if (request && (request->is_string() || request->is_number())) return *request;
  return nullptr;
}

Envelope check_envelope(const json& message, std::optional<json>& error) {
  Envelope env;
  auto invalid = [&](const json& id, std::string_view why) {
    error = jsonrpc_error(id, kInvalidRequest, why);
    return env;
  };
  if (!message.is_object()) {
    // Batches were removed from MCP in 2025-06-18; this server does not
    // offer 2025-03-26, the one revision that required them.
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

std::optional<json> McpServer::handle(McpClient& client, const Envelope& message, RequestContext* rc) {
  // Notifications (initialized, cancelled, ...) need no answer; the
  // transports act on notifications/cancelled themselves. A response to a
  // request this server never sent is ignored.
  if (message.kind != Envelope::Kind::kRequest) return std::nullopt;
  const json& id = message.id;
  const json no_params = json::object();
  const json& params = message.params ? *message.params : no_params;
  if (!params.is_object()) return jsonrpc_error(id, kInvalidParams, "params must be an object");
  if (message.modern_version()) return handle_modern(client, message, params, rc);
  auto ok = [&](json result) { return json{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}}; };
  const std::string& method = message.method;

  if (method == "initialize") {
    auto version = params.find("protocolVersion");
    if (version == params.end() || !version->is_string()) {
      return jsonrpc_error(id, kInvalidParams, "initialize needs params.protocolVersion (a string)");
    }
    return ok(initialize(client, version->get<std::string>()));
  }
  if (method == "server/discover") {
    return jsonrpc_error(id, kInvalidParams,
                         std::string("server/discover needs params._meta[\"") + kMetaProtocolVersion +
                             "\"] (protocol revision 2026-07-28)");
  }
  if (method == "ping") return ok(json::object());
  if (!client.initialized) {
    return jsonrpc_error(id, kInvalidRequest,
                         std::string("not initialized: send initialize first, or declare the protocol version in "
                                     "params._meta[\"") +
                             kMetaProtocolVersion + "\"] (revision 2026-07-28)");
  }
  if (method == "tools/list") return ok(list_tools());
  if (method == "tools/call") {
    bool protocol_error = false;
    json r = call_tool(client.owner, params, rc, protocol_error);
    if (protocol_error) return jsonrpc_error(id, r["code"].get<int>(), r["message"].get<std::string>());
    return ok(std::move(r));
  }
  return jsonrpc_error(id, kMethodNotFound, "method not found: " + policy::echo(method));
}

std::optional<json> McpServer::handle_modern(McpClient& client, const Envelope& message, const json& params,
                                             RequestContext* rc) {
  const json& id = message.id;
  const json& version = *message.modern_version();
  if (!version.is_string()) {
    return jsonrpc_error(id, kInvalidParams, std::string("_meta[\"") + kMetaProtocolVersion + "\"] must be a string");
  }
  if (!modern_protocol_version(version.get<std::string>())) {
    json e = jsonrpc_error(id, kUnsupportedProtocolVersion, "Unsupported protocol version");
    e["error"]["data"] = {{"supported", supported_versions()}, {"requested", policy::echo(version.get<std::string>())}};
    return e;
  }
  const json* caps = find_member(*meta_of(&params), kMetaClientCapabilities);
  if (!caps || !caps->is_object()) {
    return jsonrpc_error(id, kInvalidParams,
                         std::string("_meta[\"") + kMetaClientCapabilities + "\"] (an object) is required");
  }
  auto ok = [&](json result) {
    result["resultType"] = "complete";
    result["_meta"][kMetaServerInfo] = server_info();
    return json{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
  };
  auto cacheable = [](json result) {
    result["ttlMs"] = kListTtlMs;
    // Private: a server behind a bearer token must not be cached by proxies.
    result["cacheScope"] = "private";
    return result;
  };
  const std::string& method = message.method;
  if (method == "server/discover") return ok(cacheable(discover()));
  if (method == "tools/list") return ok(cacheable(list_tools()));
  if (method == "tools/call") {
    bool protocol_error = false;
    json r = call_tool(client.owner, params, rc, protocol_error);
    if (protocol_error) return jsonrpc_error(id, r["code"].get<int>(), r["message"].get<std::string>());
    return ok(std::move(r));
  }
  // initialize and ping do not exist in this revision.
  return jsonrpc_error(id, kMethodNotFound, "method not found in revision 2026-07-28: " + policy::echo(method));
}

json McpServer::initialize(McpClient& client, const std::string& protocol_version) {
  // Lifecycle: the requested revision if supported, else the newest one.
  client.protocol_version = supported_protocol_version(protocol_version) ? protocol_version : kMcpProtocolVersion;
  client.initialized = true;
  json result = discover();
  result.erase("supportedVersions");
  result["protocolVersion"] = client.protocol_version;
  result["serverInfo"] = server_info();
  return result;
}

json McpServer::discover() {
  return {
      {"supportedVersions", supported_versions()},
      {"capabilities", {{"tools", {{"listChanged", false}}}}},
      {"instructions",
       ctx_.sandbox_summary() +
           "\nUse run_python to run code. Each call without session_id starts from a fresh "
           "interpreter; create_session gives a session whose variables, imports and /tmp files "
           "persist across run_python calls (from any connection) until close_session or " +
           duration_words(ctx_.config().session_idle_ms) +
           " without use. write_file and read_file move files in and out of a session's /tmp."},
  };
}

}  // namespace pycell::server
