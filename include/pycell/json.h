// parse_json: the one way pycell parses JSON it did not write (network
// clients, the guest, host-function callbacks, embedders' settings).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace pycell {

/// Deepest nesting of arrays and objects pycell accepts in untrusted JSON.
/// nlohmann::json parses iteratively but copies, compares and dumps
/// recursively: a 60,000-deep document parsed fine and then overflowed the
/// stack when it was copied or printed. 256 levels cost a few KiB of stack in
/// any of those and are far deeper than any request or tool argument needs.
inline constexpr size_t kMaxJsonDepth = 256;

/// Parses `text` if it is valid JSON nested at most `max_depth` deep.
/// Returns std::nullopt otherwise and, if `why` is given, says which
/// ("not valid JSON at byte N" or "nested deeper than N levels"); the message
/// never quotes the input. The depth is checked in a streaming pass before
/// any value is built, so a hostile document costs O(size) time and no
/// recursion.
std::optional<nlohmann::json> parse_json(std::string_view text, std::string* why = nullptr,
                                         size_t max_depth = kMaxJsonDepth);

}  // namespace pycell
