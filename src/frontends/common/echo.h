// echo: client or guest input as it may appear in an error message, bounded.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace pycell::policy {

/// Most bytes of client input an error message repeats. Enough to recognise
/// a value; a request body can be megabytes and an error must not be.
inline constexpr size_t kEchoBytes = 200;

/// `text` cut to at most kEchoBytes (at a UTF-8 character boundary), with
/// "... (N more bytes)" appended when cut. Every error message that quotes a
/// client's (or guest's) value, header, id or name goes through this.
std::string echo(std::string_view text);

/// `value` as compact JSON, cut as echo(text). The value must come from
/// parse_json (depth-capped): dumping is recursive.
std::string echo_json(const nlohmann::json& value);

}  // namespace pycell::policy
