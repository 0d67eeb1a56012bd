// StreamWriter without a socket: SSE and NDJSON framing, the in-memory
// writer's cap, the close hook and its guard, start_stream through handle().
#include "stream_writer.h"

#include <gtest/gtest.h>

#include "http_common.h"

namespace pycell::server {
namespace {

Request make(std::string method, std::string target) {
  Request req;
  req.method = std::move(method);
  req.target = std::move(target);
  split_target(req.target, req.path, req.query);
  return req;
}

TEST(StreamWriter, SseEventSplitsDataAtEveryKindOfLineBreak) {
  MemoryStreamWriter w(1 << 20);
  ASSERT_TRUE(w.send_event("stdout", "a\nb\r\nc\rd", "7"));
  EXPECT_EQ(w.take(), "event: stdout\nid: 7\ndata: a\ndata: b\ndata: c\ndata: d\n\n");
}

TEST(StreamWriter, SseEventWithoutNameOrIdAndWithEmptyData) {
  MemoryStreamWriter w(1 << 20);
  ASSERT_TRUE(w.send_event("", ""));
  ASSERT_TRUE(w.send_event("x", "a\n"));
  EXPECT_EQ(w.take(), "data: \n\nevent: x\ndata: a\ndata: \n\n");
}

TEST(StreamWriter, SseNameOrIdWithALineBreakIsDroppedNotInjected) {
  MemoryStreamWriter w(1 << 20);
  ASSERT_TRUE(w.send_event("a\nevent: evil", "d", "1\r\nid: 2"));
  EXPECT_EQ(w.take(), "data: d\n\n");
}

TEST(StreamWriter, CommentsAndLinesStayOneLine) {
  MemoryStreamWriter w(1 << 20);
  ASSERT_TRUE(w.send_comment("keep\nalive"));
  ASSERT_TRUE(w.send_line("{\"a\":\r\n1}"));
  EXPECT_EQ(w.take(), ": keep alive\n\n{\"a\":  1}\n");
}

TEST(StreamWriter, MemoryWriterClosesPastItsCapAndRunsTheHook) {
  MemoryStreamWriter w(10);
  int calls = 0;
  auto watch = w.on_close([&] { ++calls; });
  EXPECT_TRUE(w.send_line("12345678"));  // 9 bytes
  EXPECT_FALSE(w.send_line("12"));
  EXPECT_TRUE(w.closed());
  EXPECT_FALSE(w.send_line(""));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(w.take(), "12345678\n");
}

TEST(StreamWriter, HookOnAClosedStreamRunsAtOnce) {
  MemoryStreamWriter w(0);
  EXPECT_FALSE(w.send_line("x"));
  int calls = 0;
  auto watch = w.on_close([&] { ++calls; });
  EXPECT_EQ(calls, 1);
}

TEST(StreamWriter, NoHookRunsAfterItsGuardIsGone) {
  MemoryStreamWriter w(1);
  int calls = 0;
  { auto watch = w.on_close([&] { ++calls; }); }
  EXPECT_FALSE(w.send_line("too long"));
  EXPECT_TRUE(w.closed());
  EXPECT_EQ(calls, 0);
}

TEST(StartStream, WithoutATransportTheBodyComesBackWhole) {
  Router router;
  router.Get("/s", [](Request& req, Response& res) {
    res.set_header("Content-Type", "text/event-stream");
    res.set_header("Content-Length", "3");
    StreamWriter& w = start_stream(req, res);
    w.send_event("a", "1");
    res.status = 500;  // too late: the head is out
    StreamWriter& again = start_stream(req, res);
    EXPECT_EQ(&again, &w);
    again.send_event("b", "2");
  });
  Request req = make("GET", "/s");
  Response res;
  router.dispatch(req, res);
  ASSERT_NE(res.stream, nullptr);
  EXPECT_EQ(res.get_header_value("Cache-Control"), "no-store");
  EXPECT_FALSE(res.has_header("Content-Length"));
  EXPECT_EQ(static_cast<MemoryStreamWriter&>(*res.stream).take(), "event: a\ndata: 1\n\nevent: b\ndata: 2\n\n");
}

}  // namespace
}  // namespace pycell::server
