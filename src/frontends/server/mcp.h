// McpServer: the Model Context Protocol (revision 2025-06-18) over any
// transport: JSON-RPC dispatch, lifecycle and the sandbox tools.
#pragma once

#include <optional>
#include <string>

#include "context.h"
#include "result_schema.h"

namespace pycell::server {

/// JSON-RPC 2.0 error codes used by MCP.
enum JsonRpcCode : int {
  kParseError = -32700,
  kInvalidRequest = -32600,
  kMethodNotFound = -32601,
  kInvalidParams = -32602,
  kInternalError = -32603,
};

/// The newest protocol revision this server speaks.
inline constexpr const char* kMcpProtocolVersion = "2025-06-18";

/// True for the revisions this server accepts (in MCP-Protocol-Version too).
bool supported_protocol_version(std::string_view version);

/// A JSON-RPC error response.
json jsonrpc_error(const json& id, int code, std::string_view message);

/// One incoming JSON-RPC message whose envelope has been checked. Borrows
/// from the message it was read from, which must outlive it.
struct Envelope {
  enum class Kind {
    kRequest,       ///< has an id: answer it
    kNotification,  ///< no id: never answered
    kResponse,      ///< a result or error for a request (this server sends none): ignored
  };
  Kind kind = Kind::kRequest;
  /// The request's id (a string or a number); null for other kinds.
  json id;
  /// Empty for a response.
  std::string method;
  /// The "params" member; null when absent (handle() wants an object).
  const json* params = nullptr;
};

/// Checks the JSON-RPC 2.0 envelope of a parsed message (as MCP uses it:
/// one object, "jsonrpc": "2.0", a string method, an id that is a string or
/// a number, object params). Never throws, whatever the message's types.
/// On a malformed message `error` is set to the response to send: -32600
/// Invalid Request, echoing the id when it is a valid one and null
/// otherwise, as JSON-RPC 2.0 says. Both transports call this.
Envelope check_envelope(const json& message, std::optional<json>& error);

/// One connected client: the stdio peer, or one Mcp-Session-Id over HTTP.
struct McpClient {
  /// Registry owner of the sessions it creates (closed with the client).
  std::string owner;
  /// Negotiated in initialize.
  std::string protocol_version;
  bool initialized = false;
};

/// Stateless apart from the context and the client passed in; thread-safe
/// as long as each McpClient is used by one thread at a time.
class McpServer {
 public:
  explicit McpServer(ServerContext& ctx) : ctx_(ctx) {}

  /// Handles one message (its envelope checked by check_envelope). Returns
  /// the response for a request, nothing for a notification or a response.
  std::optional<json> handle(McpClient& client, const Envelope& message);

  /// One stdio line, as received (at most max_body_bytes, not blank): parsed
  /// depth-capped, its envelope checked, handled. Returns what to write back:
  /// a parse or envelope error, the response, or nothing for a notification.
  std::optional<json> handle_line(McpClient& client, std::string_view line);

 private:
  json initialize(McpClient& client, const std::string& protocol_version);
  json list_tools();
  /// A tools/call result, or a JSON-RPC error object (with "code").
  json call_tool(McpClient& client, const json& params, bool& protocol_error);

  ServerContext& ctx_;
};

}  // namespace pycell::server
