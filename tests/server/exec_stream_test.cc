// ExecStream without a socket: Accept negotiation, event shapes, dropping
// when the client is behind (and counting exactly), the output cap, and
// characters cut between chunks.
#include "exec_stream.h"

#include <gtest/gtest.h>

#include <vector>

namespace pycell::server {
namespace {

/// Collects lines; has room only while `room` is set.
class FakeWriter final : public StreamWriter {
 public:
  bool write(std::string_view bytes) override {
    body.append(bytes);
    return true;
  }
  bool has_room() const override { return room; }
  bool room = true;
  std::string body;

  std::vector<json> records() const {
    std::vector<json> out;
    size_t start = 0;
    for (size_t nl; (nl = body.find('\n', start)) != std::string::npos; start = nl + 1) {
      out.push_back(json::parse(body.substr(start, nl - start)));
    }
    return out;
  }
};

TEST(ExecFormat, FirstListedStreamingOrJsonTypeWins) {
  EXPECT_EQ(exec_format(""), ExecFormat::kJson);
  EXPECT_EQ(exec_format("text/event-stream"), ExecFormat::kSse);
  EXPECT_EQ(exec_format(" application/x-ndjson ; q=0.1 , text/event-stream"), ExecFormat::kNdjson);
  EXPECT_EQ(exec_format("application/json, text/event-stream"), ExecFormat::kJson);
  EXPECT_EQ(exec_format("*/*, text/event-stream"), ExecFormat::kJson);
  EXPECT_EQ(exec_format("text/html, TEXT/EVENT-STREAM"), ExecFormat::kSse);
  EXPECT_EQ(exec_format("text/event-streamx, application/x-ndjsonx"), ExecFormat::kJson);
  EXPECT_EQ(exec_format(",,,;"), ExecFormat::kJson);
}

TEST(ExecStream, NdjsonRecordsAndTheResultLast) {
  FakeWriter w;
  ExecStream s(w, ExecFormat::kNdjson, 1 << 20);
  s.output(Stream::kStdout, "a\n");
  s.output(Stream::kStderr, "b");
  s.result({{"exit_reason", "ok"}});
  EXPECT_EQ(w.records(), (std::vector<json>{{{"type", "stdout"}, {"text", "a\n"}},
                                            {{"type", "stderr"}, {"text", "b"}},
                                            {{"type", "result"}, {"result", {{"exit_reason", "ok"}}}}}));
}

TEST(ExecStream, SseErrorCarriesTheRestErrorBody) {
  FakeWriter w;
  ExecStream s(w, ExecFormat::kSse, 1 << 20);
  s.error("overloaded", "busy");
  EXPECT_EQ(w.body, "event: error\ndata: {\"error\":{\"code\":\"overloaded\",\"message\":\"busy\"}}\n\n");
}

TEST(ExecStream, OutputWithoutRoomIsDroppedAndCountedOnceThereIsRoom) {
  FakeWriter w;
  ExecStream s(w, ExecFormat::kNdjson, 1 << 20);
  s.output(Stream::kStdout, "1");
  w.room = false;
  s.output(Stream::kStdout, "22");
  s.output(Stream::kStdout, "333");
  w.room = true;
  s.output(Stream::kStdout, "4");
  w.room = false;
  s.output(Stream::kStderr, "55");
  s.result(json::object());  // waits for room: the count is never lost
  EXPECT_EQ(w.records(), (std::vector<json>{{{"type", "stdout"}, {"text", "1"}},
                                            {{"type", "dropped"}, {"stream", "stdout"}, {"bytes", 5}},
                                            {{"type", "stdout"}, {"text", "4"}},
                                            {{"type", "dropped"}, {"stream", "stderr"}, {"bytes", 2}},
                                            {{"type", "result"}, {"result", json::object()}}}));
}

TEST(ExecStream, NothingPastTheOutputCapPerStream) {
  FakeWriter w;
  ExecStream s(w, ExecFormat::kNdjson, 4);
  s.output(Stream::kStdout, "abc");
  s.output(Stream::kStdout, "def");
  s.output(Stream::kStdout, "ghi");
  s.output(Stream::kStderr, "xyz");
  auto r = w.records();
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0]["text"], "abc");
  EXPECT_EQ(r[1]["text"], "d");
  EXPECT_EQ(r[2]["text"], "xyz");
}

TEST(ExecStream, ACharacterCutBetweenChunksIsSentWhole) {
  FakeWriter w;
  ExecStream s(w, ExecFormat::kNdjson, 1 << 20);
  s.output(Stream::kStdout, "a\xE2");
  s.output(Stream::kStdout, "\x82");
  s.output(Stream::kStdout, "\xAC" "b");
  s.output(Stream::kStdout, "\xF0\x9F");  // never completed
  s.result({});
  auto r = w.records();
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0]["text"], "a");
  EXPECT_EQ(r[1]["text"], "\xE2\x82\xAC" "b");
  EXPECT_EQ(r[2]["text"], "\xEF\xBF\xBD");  // U+FFFD: the encoder's replacement
  EXPECT_EQ(r[3]["type"], "result");
}

TEST(ExecStream, BigOutputIsCutIntoEventsOnCharacterBoundaries) {
  FakeWriter w;
  ExecStream s(w, ExecFormat::kNdjson, 1 << 20);
  std::string text = "a";
  for (int i = 0; i < 20000; ++i) text += "\xC3\xA9";  // é
  s.output(Stream::kStdout, text);
  std::string joined;
  auto r = w.records();
  ASSERT_GT(r.size(), 2u);
  for (const auto& rec : r) {
    std::string t = rec["text"];
    EXPECT_LE(t.size(), 16u << 10);
    joined += t;
  }
  EXPECT_EQ(joined, text);
}

}  // namespace
}  // namespace pycell::server
