// parse_json: a streaming depth check (SAX) before nlohmann builds the value.
#include "pycell/json.h"

namespace pycell {
namespace {

using nlohmann::json;

/// Counts nesting; refuses the document at the first level past the cap.
class DepthCheck : public json::json_sax_t {
 public:
  explicit DepthCheck(size_t max_depth) : max_depth_(max_depth) {}

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(json::number_integer_t) override { return true; }
  bool number_unsigned(json::number_unsigned_t) override { return true; }
  bool number_float(json::number_float_t, const json::string_t&) override { return true; }
  bool string(json::string_t&) override { return true; }
  bool binary(json::binary_t&) override { return true; }
  bool key(json::string_t&) override { return true; }
  bool start_object(size_t) override { return enter(); }
  bool end_object() override { return leave(); }
  bool start_array(size_t) override { return enter(); }
  bool end_array() override { return leave(); }
  bool parse_error(size_t position, const std::string&, const nlohmann::detail::exception&) override {
    error_at_ = position;
    return false;
  }

  [[nodiscard]] bool too_deep() const { return too_deep_; }
  [[nodiscard]] size_t error_at() const { return error_at_; }

 private:
  bool enter() {
    if (++depth_ > max_depth_) too_deep_ = true;
    return !too_deep_;
  }
  bool leave() {
    --depth_;
    return true;
  }

  size_t max_depth_;
  size_t depth_ = 0;
  bool too_deep_ = false;
  size_t error_at_ = 0;
};

}  // namespace

std::optional<json> parse_json(std::string_view text, std::string* why, size_t max_depth) {
  DepthCheck check(max_depth);
  if (!json::sax_parse(text, &check, json::input_format_t::json, /*strict=*/true)) {
    if (why) {
      *why = check.too_deep() ? "nested deeper than " + std::to_string(max_depth) + " levels"
                              : "not valid JSON (at byte " + std::to_string(check.error_at()) + ")";
    }
    return std::nullopt;
  }
  // Valid and shallow: the second parse cannot fail.
  return json::parse(text, nullptr, /*allow_exceptions=*/false);
}

}  // namespace pycell
