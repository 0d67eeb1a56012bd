// Guest output made safe to show on a terminal: control sequences are shown, not obeyed.
// Uses only the standard library (no pycell internals).
#pragma once

#include <string>
#include <string_view>

namespace pycell::cli {

/// Rewrites bytes bound for a terminal so that it obeys none of them, one
/// pass over the input (linear time), keeping all text visible:
///  - C0 controls (bytes 0x00-0x1F) become caret notation, as `cat -v` shows
///    them: ESC is "^[", so no escape sequence starts (OSC 52 clipboard writes,
///    CSI screen clears, title changes); BEL is "^G". Newline and tab pass.
///  - CR passes only as part of "\r\n": alone it could move back over what is
///    already shown and hide it, so it is "^M" (progress bars show their steps).
///  - C1 controls (U+0080-U+009F, e.g. U+009B, an 8-bit CSI) become "\u009b".
///  - Bytes that are not UTF-8 (strict: no overlongs, surrogates or values past
///    U+10FFFF) become "\xNN", since some terminals read a lone 0x9B as CSI.
///  - Everything else (printable ASCII, DEL, which terminals ignore, and
///    UTF-8 text) passes unchanged.
/// Escaping C0 as caret notation and C1 as \u00XX keeps JSON text valid and
/// meaning the same. Output arrives in chunks: a UTF-8 sequence or a CR cut by
/// the end of a chunk is held (at most 3 bytes) until the next one or finish().
class TerminalFilter {
 public:
  /// Appends the safe form of `bytes` to `out`.
  void feed(std::string_view bytes, std::string& out);
  /// Appends the safe form of what is held: the stream ends here.
  void finish(std::string& out);

 private:
  void scan(std::string_view in, bool at_end, std::string& out);
  std::string held_;
};

/// The safe form of `bytes` as a whole (feed then finish).
std::string neutralize(std::string_view bytes);

}  // namespace pycell::cli
