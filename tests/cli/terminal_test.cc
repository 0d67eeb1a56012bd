// TerminalFilter: guest output shown on a terminal obeys none of its control characters.
#include "terminal.h"

#include <gtest/gtest.h>

#include <string>

namespace pycell::cli {
namespace {

std::string fed_in_chunks(std::string_view in, size_t chunk) {
  TerminalFilter f;
  std::string out;
  for (size_t i = 0; i < in.size(); i += chunk) f.feed(in.substr(i, chunk), out);
  f.finish(out);
  return out;
}

TEST(TerminalFilter, TextNewlinesAndTabsPass) {
  EXPECT_EQ(neutralize("plain text\n\tindented ~ DEL\x7f\n"), "plain text\n\tindented ~ DEL\x7f\n");
  EXPECT_EQ(neutralize("é ü 中文 😀 \u00a0 U+00A0\n"), "é ü 中文 😀 \u00a0 U+00A0\n");
  EXPECT_EQ(neutralize(""), "");
}

TEST(TerminalFilter, EscapeSequencesAreShownNotObeyed) {
  // OSC 52 sets the clipboard; OSC 0 the title; CSI 2J clears the screen.
  EXPECT_EQ(neutralize("\x1b]52;c;cm0gLXJmIH4=\x07"), "^[]52;c;cm0gLXJmIH4=^G");
  EXPECT_EQ(neutralize("\x1b]0;title\x1b\\"), "^[]0;title^[\\");
  EXPECT_EQ(neutralize("\x1b[2J\x1b[H\x1b" "c"), "^[[2J^[[H^[c");
}

TEST(TerminalFilter, C0ControlsBecomeCaretNotation) {
  EXPECT_EQ(neutralize(std::string("\0\x01\x08\x0b\x0c\x1f", 6)), "^@^A^H^K^L^_");
}

TEST(TerminalFilter, CarriageReturnPassesOnlyBeforeNewline) {
  EXPECT_EQ(neutralize("line\r\nsafe\rEVIL\r"), "line\r\nsafe^MEVIL^M");
  // Split between \r and \n, the pair still passes.
  EXPECT_EQ(fed_in_chunks("a\r\nb\rc", 2), "a\r\nb^Mc");
}

TEST(TerminalFilter, C1ControlsBecomeUnicodeEscapes) {
  EXPECT_EQ(neutralize("\u009b31m red \u0085 \u0080"), "\\u009b31m red \\u0085 \\u0080");
  EXPECT_EQ(neutralize("\u00a9"), "\u00a9");  // the next code point is text
}

TEST(TerminalFilter, BytesThatAreNotUtf8BecomeHexEscapes) {
  EXPECT_EQ(neutralize("\x9b" "31m"), "\\x9b31m");                   // a raw 8-bit CSI
  EXPECT_EQ(neutralize("\xc0\x9b"), "\\xc0\\x9b");                    // an overlong ESC-like byte
  EXPECT_EQ(neutralize("\xed\xa0\x80"), "\\xed\\xa0\\x80");           // a surrogate
  EXPECT_EQ(neutralize("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // past U+10FFFF
  EXPECT_EQ(neutralize("\xe2\x82"), "\\xe2\\x82");                    // cut at the end of the stream
  EXPECT_EQ(neutralize("\xe2\x82" "A"), "\\xe2\\x82A");
}

TEST(TerminalFilter, SequencesCutBetweenChunksAreJoined) {
  const std::string text = "€ \u009b é 😀 \x1b[0m ok\r\n";
  const std::string whole = neutralize(text);
  EXPECT_EQ(whole, "€ \\u009b é 😀 ^[[0m ok\r\n");
  for (size_t chunk = 1; chunk <= text.size(); ++chunk) EXPECT_EQ(fed_in_chunks(text, chunk), whole) << chunk;
}

TEST(TerminalFilter, AFloodOfEscapesIsShownWhole) {
  // 8 MiB of ESC in 4 KiB chunks (a runaway guest's output): each one "^[".
  const std::string flood(8u << 20, '\x1b');
  const std::string shown = fed_in_chunks(flood, 4096);
  EXPECT_EQ(shown.size(), 2 * flood.size());
  EXPECT_EQ(shown.find_first_not_of("^["), std::string::npos);
}

}  // namespace
}  // namespace pycell::cli
