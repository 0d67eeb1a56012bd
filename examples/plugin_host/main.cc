// A plugin-style host: grants a Python plugin two tools and one read-only
// directory, runs it in a fresh session and shows what it printed.
//   pycell_plugin_example PLUGIN.py CATALOG_DIR
// Uses only the public API (include/pycell/).
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "pycell/engine.h"
#include "pycell/session.h"

namespace {

using nlohmann::json;

/// Tool 1: the unit price of a SKU, from the host's own data.
pycell::HostFunction price_tool() {
  pycell::HostFunction f;
  f.name = "price_of";
  f.description = "The unit price in USD of the item with this SKU.";
  f.parameters = R"({"type":"object","properties":{"sku":{"type":"string","description":"Item code, e.g. A-100"}},
                     "required":["sku"],"additionalProperties":false})";
  f.callback = [](const pycell::HostCall& call) -> pycell::Result<std::string> {
    static const std::map<std::string, double> prices = {{"A-100", 2.50}, {"B-200", 19.99}, {"C-300", 0.75}};
    const std::string sku = json::parse(call.args_json)["sku"];
    auto it = prices.find(sku);
    if (it == prices.end()) return pycell::Error(pycell::ErrorCode::kNotFound, "unknown SKU " + sku);
    return json(it->second).dump();
  };
  return f;
}

/// Tool 2: currency conversion with a fixed table.
pycell::HostFunction convert_tool() {
  pycell::HostFunction f;
  f.name = "convert";
  f.description = "Converts an amount of USD to another currency.";
  f.parameters = R"({"type":"object","properties":{"amount":{"type":"number"},
                     "to":{"type":"string","enum":["EUR","GBP"]}},"required":["amount","to"]})";
  f.callback = [](const pycell::HostCall& call) -> pycell::Result<std::string> {
    const json args = json::parse(call.args_json);
    const double rate = args["to"] == "EUR" ? 0.92 : 0.79;
    return json{{"amount", args["amount"].get<double>() * rate}, {"rate", rate}}.dump();
  };
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s PLUGIN.py CATALOG_DIR\n", argv[0]);
    return 2;
  }
  std::ifstream in(argv[1]);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", argv[1]);
    return 2;
  }
  std::stringstream code;
  code << in.rdbuf();

  auto engine = pycell::Engine::create({});
  if (!engine) {
    std::fprintf(stderr, "engine: %s\n", engine.error().message().c_str());
    return 1;
  }
  pycell::SessionConfig config;
  config.functions = {price_tool(), convert_tool()};
  config.mounts.push_back({argv[2], "/catalog", pycell::Mount::Access::kReadOnly});
  auto session = pycell::Session::create(*engine, std::move(config));
  if (!session) {
    std::fprintf(stderr, "session: %s\n", session.error().message().c_str());
    return 1;
  }
  pycell::ExecOptions options;
  options.mode = pycell::ExecOptions::Mode::kScript;
  options.filename = "plugin.py";
  auto result = session->exec(code.str(), options);
  if (!result) {
    std::fprintf(stderr, "exec: %s\n", result.error().message().c_str());
    return 1;
  }
  std::cout << result->stdout_text;
  std::cerr << result->stderr_text;
  return result->exit_code;
}
