// base64 of inline files: round trips, and what the decoder refuses.
#include "base64.h"

#include <gtest/gtest.h>

namespace pycell::server {
namespace {

TEST(Base64, RoundTripsEveryLengthAndByte) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (size_t n = 0; n <= all.size(); ++n) {
    std::string data = all.substr(0, n);
    EXPECT_EQ(base64_decode(base64_encode(data)), data) << n;
  }
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
}

TEST(Base64, RefusesWhatIsNotPaddedBase64) {
  for (const char* bad : {"Zg", "Zg=", "Z===", "====", "Zg==Zg==", "Z=g=", "Zm9v\n", " Zm9v", "Zm-v", "Zm_v"}) {
    EXPECT_EQ(base64_decode(bad), std::nullopt) << bad;
  }
}

TEST(Base64, IgnoresBitsThePaddingDropsAsPythonDoes) {
  EXPECT_EQ(base64_decode("Zh=="), "f");
  EXPECT_EQ(base64_decode("Zm9="), "fo");
}

}  // namespace
}  // namespace pycell::server
