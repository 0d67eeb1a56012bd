// libFuzzer target: the config/policy parser (policy::apply_json), as the
// servers call it on a client's "config" (Trust::kClient) and the CLI on an
// operator's config file (Trust::kOperator). An accepted config must also be
// reportable, and read back as itself.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string_view>

#include "common/policy.h"
#include "pycell/json.h"

using nlohmann::json;
namespace policy = pycell::policy;

// Input: one byte whose bit 0 picks the trust (1: client), then the JSON text.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const policy::Trust trust = (data[0] & 1) ? policy::Trust::kClient : policy::Trust::kOperator;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const auto parsed = pycell::parse_json(text);
  if (!parsed) return 0;
  pycell::SessionConfig config;  // the operator's: the defaults
  if (!policy::apply_json(config, *parsed, trust)) return 0;
  (void)policy::validate(config);
  const json shown = policy::to_json(config);
  pycell::SessionConfig again;
  const auto reread = policy::apply_json(again, shown, policy::Trust::kOperator);
  if (!reread) {
    std::fprintf(stderr, "fuzz: to_json's output is refused: %s\n", reread.error().message().c_str());
    __builtin_trap();
  }
  if (policy::to_json(again) != shown) {
    std::fprintf(stderr, "fuzz: config does not read back as itself:\n%s\n%s\n", shown.dump().c_str(),
                 policy::to_json(again).dump().c_str());
    __builtin_trap();
  }
  return 0;
}
