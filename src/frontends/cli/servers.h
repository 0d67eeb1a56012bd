// mcp and serve: the command-line side of the servers (src/frontends/server).
// Uses only the public API and the servers' entry points, never src/ internals.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "pycell/engine.h"
#include "pycell/session.h"
#include "server.h"

namespace pycell::cli {

/// The `mcp` and `serve` subcommands with their server options.
class ServerCommands {
 public:
  /// Registers the subcommands on `app` (borrowed; must outlive this object).
  explicit ServerCommands(CLI::App& app);
  ServerCommands(const ServerCommands&) = delete;
  ServerCommands& operator=(const ServerCommands&) = delete;

  /// One of the two was given on the command line.
  bool chosen() const { return mcp_->parsed() || serve_->parsed(); }

  /// Runs the chosen server until it stops; returns the exit status.
  int run(EngineConfig engine, SessionConfig session);

 private:
  server::ServerConfig config_;
  std::string token_;        // TOKEN, or @VAR to read it from the environment
  std::string cluster_key_;  // @VAR: the durable store's cluster key, from the environment
  CLI::App* mcp_ = nullptr;
  CLI::App* serve_ = nullptr;
};

}  // namespace pycell::cli
