// libFuzzer target: host-function calls as the guest makes them
// (pycell_host.call -> wasi::host_call -> HostFunctions::dispatch): names and
// arguments from guest memory, schema validation, the callback's result or
// error on the way back (size cap, JSON check, error sanitizer), host_take.
#include <fuzzer/FuzzedDataProvider.h>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "fuzz_support.h"
#include "wasi/host_call.h"

namespace {

using pycell::wasi::HostCallStatus;

// What the callbacks answer with for the current input.
std::string g_result;

pycell::SessionConfig config() {
  pycell::SessionConfig c;
  c.limits.memory_bytes = 64ull << 20;
  c.limits.host_result_bytes = 2048;  // small, so the fuzzer can cross it
  c.limits.host_call_bytes = 4096;
  auto reply = [](const pycell::HostCall&) -> pycell::Result<std::string> { return g_result; };
  auto fail = [](const pycell::HostCall&) -> pycell::Result<std::string> {
    return pycell::Error(pycell::ErrorCode::kInvalidArgument, g_result);
  };
  auto echo = [](const pycell::HostCall& call) -> pycell::Result<std::string> { return std::string(call.args_json); };
  c.functions.push_back({"reply", "answers with the fuzzer's result",
                         R"({"type":"object","properties":{"s":{"type":"string"},"n":{"type":"integer"},)"
                         R"("x":{"type":"number"},"b":{"type":"boolean"},"l":{"type":"array","items":{"type":"string"}},)"
                         R"("o":{"type":"object","properties":{"k":{"enum":["a",1,null]}},"required":["k"],)"
                         R"("additionalProperties":false}},"required":["s"]})",
                         reply});
  c.functions.push_back({"fail", "fails with the fuzzer's message", R"({"type":"object","properties":{}})", fail});
  c.functions.push_back({"echo", "returns its arguments", R"({"type":"object","additionalProperties":true})", echo});
  return c;
}

pycell::fuzz::LiveSession& live() {
  static pycell::fuzz::LiveSession s(config, 1000);
  return s;
}

// Guest addresses the harness writes to (a started interpreter's memory is
// larger than 1 MiB; whatever lived there is discarded with the session).
constexpr uint32_t kName = 0x80000, kArgs = 0x90000, kReplyLen = 0x7fff0, kReply = 0xa0000;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  live().next(false);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  static const char* const kNames[] = {"reply", "fail", "echo", "__specs__", "__http__", "missing"};
  const uint8_t pick = in.ConsumeIntegral<uint8_t>();
  const std::string name = pick < 240 ? kNames[pick % 6] : in.ConsumeRandomLengthString(300);
  g_result = in.ConsumeRandomLengthString(4096);
  const std::string args = in.ConsumeRemainingBytesAsString();

  pycell::wasi::Context& c = live().next(false);
  if (!c.memory->store_bytes(kName, name.data(), name.size()) ||
      !c.memory->store_bytes(kArgs, args.data(), args.size())) {
    return 0;
  }
  const uint32_t result = pycell::wasi::host_call(c, kName, static_cast<uint32_t>(name.size()), kArgs,
                                                  static_cast<uint32_t>(args.size()), kReplyLen);
  const auto status = static_cast<HostCallStatus>(result & 0xff);
  const uint32_t len = *c.memory->load_u32(kReplyLen);
  // The reply the guest will take: what the status promises, and nothing more.
  if (len != c.host.pending.size()) __builtin_trap();
  if (status != HostCallStatus::kFault) {
    const auto reply = nlohmann::json::parse(c.host.pending, nullptr, false);
    if (reply.is_discarded() || (status != HostCallStatus::kOk && !reply.is_string())) {
      std::fprintf(stderr, "fuzz: status %u with reply %s\n", result, c.host.pending.c_str());
      __builtin_trap();
    }
    if (status == HostCallStatus::kOk && name != "__specs__" && len > 2048) __builtin_trap();
  }
  if (pycell::wasi::host_take(c, kReply, len) != HostCallStatus::kOk || !c.host.pending.empty()) __builtin_trap();
  return 0;
}
