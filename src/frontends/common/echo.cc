// echo: bounded quotes of untrusted input for error messages.
#include "common/echo.h"

namespace pycell::policy {

std::string echo(std::string_view text) {
  if (text.size() <= kEchoBytes) return std::string(text);
  size_t cut = kEchoBytes;
  // Back up over UTF-8 continuation bytes so no character is split.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(text.substr(0, cut)) + "... (" + std::to_string(text.size() - cut) + " more bytes)";
}

std::string echo_json(const nlohmann::json& value) {
  return echo(value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace pycell::policy
