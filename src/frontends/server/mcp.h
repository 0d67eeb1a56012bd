// McpServer: the Model Context Protocol over any transport, in both eras:
// the legacy revisions up to 2025-11-25 (an initialize handshake, state per
// connection) and the stateless revision 2026-07-28 (protocol version and
// client capabilities in every request's _meta, server/discover). JSON-RPC
// dispatch and lifecycle here; the sandbox tools in mcp_tools.cc.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "context.h"
#include "mcp_request.h"
#include "result_schema.h"

namespace pycell::server {

/// JSON-RPC 2.0 error codes, and those MCP 2026-07-28 defines.
enum JsonRpcCode : int {
  kParseError = -32700,
  kInvalidRequest = -32600,
  kMethodNotFound = -32601,
  kInvalidParams = -32602,
  kInternalError = -32603,
  kHeaderMismatch = -32020,
  kMissingClientCapability = -32021,
  kUnsupportedProtocolVersion = -32022,
};

/// The newest legacy revision (negotiated by initialize).
inline constexpr const char* kMcpProtocolVersion = "2025-11-25";
/// The stateless revision, declared in each request's _meta.
inline constexpr const char* kMcpModernVersion = "2026-07-28";
/// The _meta keys of 2026-07-28's per-request protocol fields.
inline constexpr const char* kMetaProtocolVersion = "io.modelcontextprotocol/protocolVersion";
inline constexpr const char* kMetaClientCapabilities = "io.modelcontextprotocol/clientCapabilities";
inline constexpr const char* kMetaServerInfo = "io.modelcontextprotocol/serverInfo";

/// True for the legacy revisions initialize accepts (and MCP-Protocol-Version
/// may name after it). 2025-03-26 is not among them: it requires JSON-RPC
/// batches, which this server does not take.
bool supported_protocol_version(std::string_view version);
/// True for the stateless revisions.
bool modern_protocol_version(std::string_view version);

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

  /// params._meta's protocol version member, if the message has one (of any
  /// type): then it is a request of the stateless era.
  const json* modern_version() const;
  /// params._meta.progressToken if it is a string or an integer, else null.
  json progress_token() const;
  /// For notifications/cancelled: params.requestId if it is a string or a
  /// number, else null.
  json cancelled_id() const;
};

/// Checks the JSON-RPC 2.0 envelope of a parsed message (as MCP uses it:
/// one object, "jsonrpc": "2.0", a string method, an id that is a string or
/// a number, object params). Never throws, whatever the message's types.
/// On a malformed message `error` is set to the response to send: -32600
/// Invalid Request, echoing the id when it is a valid one and null
/// otherwise, as JSON-RPC 2.0 says. Both transports call this.
Envelope check_envelope(const json& message, std::optional<json>& error);

/// One connected client of the legacy era: the stdio peer, or one
/// Mcp-Session-Id over HTTP. Requests of the stateless era use none of it.
struct McpClient {
  /// Registry owner of the sessions it creates and uses: the principal (the
  /// stdio process, or whoever holds the HTTP bearer token), shared by all
  /// its connections.
  std::string owner;
  /// Negotiated in initialize.
  std::string protocol_version;
  bool initialized = false;
};

/// A time for people: "60 minutes", "3 s", "200 ms".
std::string duration_words(uint64_t ms);

/// True for the methods worth a thread of their own (they run Python); the
/// others are answered at once by the transport's reading thread.
bool slow_method(std::string_view method);

/// Stateless apart from the context and the client passed in; thread-safe
/// as long as each McpClient is changed by one thread at a time (initialize).
class McpServer {
 public:
  explicit McpServer(ServerContext& ctx) : ctx_(ctx) {}

  /// Handles one message (its envelope checked by check_envelope). Returns
  /// the response for a request, nothing for a notification or a response.
  /// `rc`, if given, lets another thread cancel the request and carries its
  /// progress notifications.
  std::optional<json> handle(McpClient& client, const Envelope& message, RequestContext* rc = nullptr);

  /// One stdio line, as received (at most max_body_bytes, not blank): parsed
  /// depth-capped, its envelope checked, handled on this thread (with `rc`,
  /// whose progress token it sets from the message). Returns what to write
  /// back: a parse or envelope error, the response, or nothing for a
  /// notification. For fuzzing: `pycell mcp` runs slow requests on threads.
  std::optional<json> handle_line(McpClient& client, std::string_view line, RequestContext* rc = nullptr);

 private:
  std::optional<json> handle_modern(McpClient& client, const Envelope& message, const json& params,
                                    RequestContext* rc);
  json initialize(McpClient& client, const std::string& protocol_version);
  json discover();
  json list_tools();
  /// A tools/call result, or a JSON-RPC error object (with "code").
  json call_tool(const std::string& owner, const json& params, RequestContext* rc, bool& protocol_error);

  ServerContext& ctx_;
};

}  // namespace pycell::server
