// ServerContext: what the MCP and REST front ends share: the engine, the
// session registry and the stateless-execution pool.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "pycell/pool.h"
#include "registry.h"
#include "result_schema.h"
#include "server.h"

namespace pycell::server {

class ServerContext {
 public:
  /// Builds the engine (the slow part: a pre-initialized interpreter) and the
  /// stateless pool. `config` must outlive the context. Errors:
  /// kInvalidArgument for a non-loopback host without a bearer token (unless
  /// insecure_no_token); as Engine::create.
  static Result<std::unique_ptr<ServerContext>> create(const ServerConfig& config);

  const ServerConfig& config() const { return config_; }
  SessionRegistry& sessions() { return sessions_; }

  /// Runs `code` in a fresh session that is discarded afterwards, with
  /// `config` instead of the server's if given (a client's, already checked
  /// by policy::apply_json). The run is cancelled by sessions().cancel_all().
  /// Errors: kResourceExhausted when max_stateless_execs runs are in
  /// progress or the server is shutting down.
  Result<ExecResult> exec_stateless(std::string_view code, const ExecOptions& options,
                                    std::optional<SessionConfig> config);

  /// The admission and cleanup of exec_stateless around a caller's own use
  /// of the fresh session (files in, a streamed run, files out): `use` runs
  /// once the run is admitted, with the session borrowed for its duration.
  /// Errors: as exec_stateless, before `use` is called.
  Result<void> with_stateless_session(std::optional<SessionConfig> config, const std::function<void(Session&)>& use);

  /// Plain-language account of what the sandbox offers and refuses, with this
  /// server's limits and grants: tool descriptions and instructions quote it.
  const std::string& sandbox_summary() const { return summary_; }

  /// Stateless runs in progress (health reporting).
  size_t stateless_running() const { return stateless_running_; }

  /// Set when the server is stopping: new work is refused (503).
  std::atomic<bool> stopping{false};

 private:
  ServerContext(const ServerConfig& config, Engine engine, std::unique_ptr<SessionPool> pool,
                std::unique_ptr<DurableStore> store);

  const ServerConfig& config_;
  SessionRegistry sessions_;
  std::unique_ptr<SessionPool> pool_;
  std::atomic<size_t> stateless_running_{0};
  std::string summary_;
};

}  // namespace pycell::server
