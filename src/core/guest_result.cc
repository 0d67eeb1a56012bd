// Guest result records: encode requests, decode and validate results.
#include "core/guest_result.h"

#include <nlohmann/json.hpp>

#include "pycell/json.h"
#include "rt/guest_memory.h"

namespace pycell {
namespace {

using nlohmann::json;

/// Traceback frames kept from each end of a longer traceback: a recursion
/// that raises carries 1,000 frames (72 KB of JSON; 400,000 frames and 28 MB
/// after sys.setrecursionlimit(400000)), the ends are where the cause is, and
/// the middle repeats.
constexpr size_t kFramesKeptAtEachEnd = 50;

Error malformed(const std::string& what) {
  return Error(ErrorCode::kGuest, "malformed result from the guest: " + what);
}

/// For get_string: value_json is checked whole below rather than cut.
constexpr uint64_t kNoCap = UINT64_MAX;

// Reads an optional string field, capping its length.
bool get_string(const json& j, const char* key, uint64_t cap, std::optional<std::string>& out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return true;
  if (!it->is_string()) return false;
  std::string s = it->get<std::string>();
  if (s.size() > cap) s.resize(cap);
  out = std::move(s);
  return true;
}

}  // namespace

std::string encode_exec_meta(const ExecOptions& options) {
  json meta = json::object();
  if (!options.filename.empty()) meta["filename"] = options.filename;
  if (!options.argv.empty()) meta["argv"] = options.argv;
  return meta.empty() ? std::string() : meta.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<void> decode_guest_result(const rt::GuestMemory& memory, uint32_t view, uint64_t cap, ExecResult& out) {
  if (view == 0) return malformed("the runner failed (no result record)");
  auto ptr = memory.load_u32(view);
  auto len = memory.load_u32(view + 4);
  if (!ptr || !len) return malformed("result view out of bounds");
  auto span = memory.span(*ptr, *len);
  if (!span) return malformed("result body out of bounds");
  std::string why;
  auto parsed = parse_json(memory.read_string(*span), &why);
  if (!parsed) return malformed(why);
  const json& j = *parsed;
  if (!j.is_object()) return malformed("not a JSON object");

  auto reason = j.find("exit_reason");
  auto code = j.find("exit_code");
  if (reason == j.end() || !reason->is_string() || code == j.end() || !code->is_number_integer()) {
    return malformed("exit_reason/exit_code missing");
  }
  const std::string r = reason->get<std::string>();
  if (r == "ok") {
    out.exit_reason = ExitReason::kOk;
  } else if (r == "exception") {
    out.exit_reason = ExitReason::kException;
  } else if (r == "exit") {
    out.exit_reason = ExitReason::kExit;
  } else {
    return malformed("unknown exit_reason");
  }
  // Python exit statuses wrap like a process's (sys.exit(256) is 0).
  out.exit_code = static_cast<int>(code->get<int64_t>() & 0xff);

  if (!get_string(j, "value_repr", cap, out.value_repr) || !get_string(j, "value_json", kNoCap, out.value_json)) {
    return malformed("value fields");
  }
  // value_json is handed on as JSON text, so it must parse as such: a cut
  // one would not, and a deep one would crash whoever parses it next.
  if (out.value_json && (out.value_json->size() > cap || !parse_json(*out.value_json))) out.value_json.reset();
  if (auto err = j.find("error"); err != j.end() && !err->is_null()) {
    if (!err->is_object()) return malformed("error is not an object");
    GuestError e;
    std::optional<std::string> type, message;
    if (!get_string(*err, "type", cap, type) || !get_string(*err, "message", cap, message) || !type) {
      return malformed("error type/message");
    }
    e.type = *type;
    e.message = message.value_or("");
    // An uncaught MemoryError or subclass (numpy's _ArrayMemoryError).
    if (auto mem = err->find("memory"); mem != err->end()) {
      if (!mem->is_boolean()) return malformed("error memory flag is not a boolean");
      if (mem->get<bool>() && out.exit_reason == ExitReason::kException) out.exit_reason = ExitReason::kMemory;
    }
    if (auto frames = err->find("frames"); frames != err->end()) {
      if (!frames->is_array()) return malformed("frames is not an array");
      const size_t n = frames->size();
      const size_t omitted = n > 2 * kFramesKeptAtEachEnd ? n - 2 * kFramesKeptAtEachEnd : 0;
      for (size_t i = 0; i < n; ++i) {
        if (omitted && i == kFramesKeptAtEachEnd) {
          // One marker frame in place of the middle, as CPython's
          // "[Previous line repeated N more times]" stands for the repeats.
          TracebackFrame marker;
          marker.source = "[" + std::to_string(omitted) + " more frames omitted]";
          e.frames.push_back(std::move(marker));
          i += omitted - 1;
          continue;
        }
        const json& f = (*frames)[i];
        if (!f.is_object()) return malformed("frame is not an object");
        TracebackFrame tf;
        std::optional<std::string> file, function, source;
        if (!get_string(f, "file", cap, file) || !get_string(f, "function", cap, function) ||
            !get_string(f, "source", cap, source)) {
          return malformed("frame fields");
        }
        auto line = f.find("line");
        tf.file = file.value_or("");
        tf.function = function.value_or("");
        tf.source = source.value_or("");
        tf.line = line != f.end() && line->is_number_integer() ? line->get<int>() : 0;
        e.frames.push_back(std::move(tf));
      }
    }
    out.error = std::move(e);
  }
  return Ok();
}

}  // namespace pycell
