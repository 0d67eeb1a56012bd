// Base64 (RFC 4648, standard alphabet, padded) for file contents inlined in
// JSON requests and responses.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pycell::server {

/// `data` as padded base64.
std::string base64_encode(std::string_view data);

/// The bytes `text` encodes, or nullopt unless it is padded base64 (length a
/// multiple of 4, '=' only as padding, no whitespace). Bits the padding
/// drops are ignored, as Python's base64.b64decode does, so the document's
/// regular expression for base64 says exactly what is accepted.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace pycell::server
