// Terminal output filter (see terminal.h).
#include "terminal.h"

#include <cstdint>

namespace pycell::cli {
namespace {

constexpr char kHex[] = "0123456789abcdef";

bool printable_ascii(unsigned char c) { return c >= 0x20 && c <= 0x7f; }  // DEL included: terminals ignore it

/// Length of the UTF-8 sequence starting at in[i] if it is well formed (RFC
/// 3629), 0 if it is not, or -1 if it is a valid start cut by the end of `in`.
int utf8_length(std::string_view in, size_t i) {
  const auto b0 = static_cast<unsigned char>(in[i]);
  int len;
  unsigned char lo = 0x80, hi = 0xBF;  // the range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    if (b0 == 0xE0) lo = 0xA0;  // no overlongs
    if (b0 == 0xED) hi = 0x9F;  // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    if (b0 == 0xF0) lo = 0x90;  // no overlongs
    if (b0 == 0xF4) hi = 0x8F;  // nothing past U+10FFFF
  } else {
    return 0;
  }
  for (int k = 1; k < len; ++k) {
    if (i + k >= in.size()) return -1;
    const auto b = static_cast<unsigned char>(in[i + k]);
    if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) return 0;
  }
  return len;
}

}  // namespace

void TerminalFilter::feed(std::string_view bytes, std::string& out) {
  if (held_.empty()) return scan(bytes, false, out);
  // A sequence was cut by the previous chunk's end: go on as if it were one.
  std::string joined = std::move(held_);
  held_.clear();
  joined.append(bytes);
  scan(joined, false, out);
}

void TerminalFilter::finish(std::string& out) {
  std::string rest = std::move(held_);
  held_.clear();
  scan(rest, true, out);
}

void TerminalFilter::scan(std::string_view in, bool at_end, std::string& out) {
  out.reserve(out.size() + in.size());
  size_t i = 0;
  while (i < in.size()) {
    const auto c = static_cast<unsigned char>(in[i]);
    if (printable_ascii(c)) {
      size_t j = i + 1;
      while (j < in.size() && printable_ascii(static_cast<unsigned char>(in[j]))) ++j;
      out.append(in.substr(i, j - i));
      i = j;
    } else if (c == '\n' || c == '\t') {
      out += static_cast<char>(c);
      ++i;
    } else if (c == '\r') {
      if (i + 1 == in.size() && !at_end) {
        held_.assign(in.substr(i));
        return;
      }
      if (i + 1 < in.size() && in[i + 1] == '\n') {
        out += "\r\n";
        i += 2;
      } else {
        out += "^M";
        ++i;
      }
    } else if (c < 0x20) {
      out += '^';
      out += static_cast<char>(c ^ 0x40);  // ^@ .. ^_
      ++i;
    } else {
      const int len = utf8_length(in, i);
      if (len < 0 && !at_end) {
        held_.assign(in.substr(i));
        return;
      }
      if (len <= 0) {
        out += "\\x";
        out += kHex[c >> 4];
        out += kHex[c & 0xF];
        ++i;
      } else if (c == 0xC2 && static_cast<unsigned char>(in[i + 1]) <= 0x9F) {  // U+0080-U+009F
        const auto cp = static_cast<unsigned char>(in[i + 1]);
        out += "\\u00";
        out += kHex[cp >> 4];
        out += kHex[cp & 0xF];
        i += 2;
      } else {
        out.append(in.substr(i, static_cast<size_t>(len)));
        i += static_cast<size_t>(len);
      }
    }
  }
}

std::string neutralize(std::string_view bytes) {
  TerminalFilter f;
  std::string out;
  f.feed(bytes, out);
  f.finish(out);
  return out;
}

}  // namespace pycell::cli
