// HttpTransport: Beast connections as small state machines on strands of one
// io_context. Every wait on a client has a deadline (first byte, head, body,
// response write, lingering close), the head is capped in bytes and fields,
// the body in bytes per request and in memory over all requests, and the
// number of connections is capped, idle ones giving way to new ones. A
// streamed response's body passes from the handler's worker to the strand
// through a capped queue (ConnectionStream).
#include "http_transport.h"

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <list>
#include <mutex>
#include <optional>
#include <thread>

#include "http_common.h"
#include "stream_writer.h"
#include "worker_pool.h"

namespace pycell::server {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using ms = std::chrono::milliseconds;

/// After a response that closes the connection, unread request bytes are
/// read and dropped for up to this long (at most kLingerQuietMs without any
/// arriving) before the socket is closed: closing with unread input sends a
/// reset that can destroy the response before the client reads it.
constexpr int64_t kLingerTotalMs = 5'000;
constexpr int64_t kLingerQuietMs = 1'000;
/// Read-buffer headroom past max_head_bytes: one read's worth.
constexpr size_t kReadChunk = 64 << 10;
/// The most of a stream's queue sent by one write: each write must finish
/// within stream_stall_ms, so a client that reads slowly but steadily (here
/// 16 KiB per 30 s by default) is not taken for one that stopped.
constexpr size_t kStreamWriteChunk = 16 << 10;

int64_t now_ms() {
  return std::chrono::duration_cast<ms>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

/// Request bodies in memory, over every connection.
class BodyBudget {
 public:
  explicit BodyBudget(uint64_t cap) : cap_(cap) {}
  bool take(uint64_t n) {
    uint64_t used = used_.load();
    do {
      if (n > cap_ - used) return false;
    } while (!used_.compare_exchange_weak(used, used + n));
    return true;
  }
  void give(uint64_t n) { used_ -= n; }

 private:
  const uint64_t cap_;
  std::atomic<uint64_t> used_{0};
};

/// Parses one request straight into a Request, counting header fields as
/// they arrive and capping the body (Beast's own parser does neither).
class RequestParser final : public http::basic_parser<true> {
 public:
  /// `reserve(n)` asks for n more bytes of body memory (chunked bodies).
  RequestParser(const ServerConfig& cfg, std::function<bool(uint64_t)> reserve)
      : max_fields_(cfg.max_header_fields), max_body_(cfg.max_body_bytes), reserve_(std::move(reserve)) {
    header_limit(static_cast<uint32_t>(std::min<size_t>(cfg.max_head_bytes, UINT32_MAX)));
    // Capped in append() instead, where a 413 can be told apart. Not
    // boost::none: Beast 1.74 compares `len > optional` and refuses every body.
    body_limit(UINT64_MAX);
  }

  Request& request() { return req_; }
  int version() const { return version_; }
  bool too_many_fields() const { return too_many_fields_; }
  bool body_too_large() const { return body_too_large_; }
  bool over_budget() const { return over_budget_; }

 private:
  void on_request_impl(http::verb, beast::string_view method, beast::string_view target, int version,
                       beast::error_code&) override {
    req_.method.assign(method.data(), method.size());
    req_.target.assign(target.data(), target.size());
    version_ = version;
  }
  void on_response_impl(int, beast::string_view, int, beast::error_code& ec) override {
    ec = http::error::bad_version;  // unreachable in a request parser
  }
  void on_field_impl(http::field, beast::string_view name, beast::string_view value, beast::error_code& ec) override {
    if (req_.headers.size() >= max_fields_) {
      too_many_fields_ = true;
      ec = http::error::header_limit;
      return;
    }
    req_.headers.add(std::string(name), std::string(value));
  }
  void on_header_impl(beast::error_code&) override {}
  void on_body_init_impl(const boost::optional<uint64_t>&, beast::error_code&) override {}
  size_t on_body_impl(beast::string_view s, beast::error_code& ec) override { return append(s, ec); }
  void on_chunk_header_impl(uint64_t, beast::string_view, beast::error_code&) override {}
  size_t on_chunk_body_impl(uint64_t, beast::string_view s, beast::error_code& ec) override { return append(s, ec); }
  void on_finish_impl(beast::error_code&) override {}

  size_t append(beast::string_view s, beast::error_code& ec) {
    if (s.size() > max_body_ - req_.body.size()) {
      body_too_large_ = true;
      ec = http::error::body_limit;
      return 0;
    }
    // A Content-Length body was reserved whole from its header.
    if (chunked() && !reserve_(s.size())) {
      over_budget_ = true;
      ec = http::error::body_limit;
      return 0;
    }
    req_.body.append(s.data(), s.size());
    return s.size();
  }

  const size_t max_fields_;
  const uint64_t max_body_;
  std::function<bool(uint64_t)> reserve_;
  Request req_;
  int version_ = 11;
  bool too_many_fields_ = false;
  bool body_too_large_ = false;
  bool over_budget_ = false;
};

/// The body queue of one streamed response: the handler's worker writes,
/// the connection's strand takes and sends. Bytes count against the cap from
/// write() until their socket write completes.
class ConnectionStream final : public StreamWriter {
 public:
  enum class Next { kIdle, kData, kEnd, kFail };

  /// `kick` asks the strand to call take() again; it is called at most once
  /// until take() next returns kIdle.
  ConnectionStream(uint64_t cap, std::function<void()> kick) : cap_(std::max<uint64_t>(cap, 1)), kick_(std::move(kick)) {}

  bool write(std::string_view bytes) override {
    std::unique_lock lock(mu_);
    // The wait ends: a full queue has a write in flight or scheduled, and
    // that write either completes (release) or times out (gone).
    cv_.wait(lock, [&] { return dead_ || queued_ < cap_; });
    if (dead_ || ended_) return false;
    if (bytes.empty()) return true;
    pending_.append(bytes);
    queued_ += bytes.size();
    bool kick = !std::exchange(kicked_, true);
    lock.unlock();
    if (kick) kick_();
    return true;
  }

  bool has_room() const override {
    std::lock_guard lock(mu_);
    return !dead_ && queued_ < cap_;
  }

  /// Strand: the next at most `max` bytes to send, into `out`; or kEnd once
  /// the handler has returned and all is sent; or kFail if it threw.
  Next take(size_t max, std::string& out) {
    std::lock_guard lock(mu_);
    if (failed_) return Next::kFail;
    if (off_ < pending_.size()) {
      size_t n = std::min(max, pending_.size() - off_);
      out.assign(pending_, off_, n);
      off_ += n;
      if (off_ == pending_.size()) {
        pending_.clear();
        off_ = 0;
      }
      return Next::kData;
    }
    if (ended_) return Next::kEnd;
    kicked_ = false;
    return Next::kIdle;
  }

  /// Strand: `n` bytes taken earlier are on the wire.
  void release(size_t n) {
    {
      std::lock_guard lock(mu_);
      queued_ -= n;
    }
    cv_.notify_all();
  }

  /// The client is gone (or will read nothing): writes fail from now on and
  /// the close hook runs.
  void gone() {
    {
      std::lock_guard lock(mu_);
      dead_ = true;
      pending_.clear();
      off_ = 0;
    }
    cv_.notify_all();
    mark_closed();
  }

  /// Worker, after the handler returned: send what is queued, then end the
  /// body (or, `failed`, break the connection: the body is incomplete).
  void end(bool failed) {
    bool kick;
    {
      std::lock_guard lock(mu_);
      ended_ = true;
      failed_ = failed;
      kick = !std::exchange(kicked_, true);
    }
    if (kick) kick_();
  }

 private:
  const uint64_t cap_;
  const std::function<void()> kick_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::string pending_;  // queued, not yet taken; pending_[off_..] is left
  size_t off_ = 0;
  uint64_t queued_ = 0;  // pending plus taken and not yet released
  bool kicked_ = false;
  bool dead_ = false;
  bool ended_ = false;
  bool failed_ = false;
};

class Connection;

}  // namespace

struct HttpTransport::Impl {
  Impl(const ServerConfig& c, Handlers h)
      : cfg(c),
        handlers(std::move(h)),
        budget(c.max_body_memory_bytes),
        acceptor(net::make_strand(ioc)),
        retry(acceptor.get_executor()),
        pool(std::max<size_t>(c.http_threads, 1), std::max<size_t>(c.http_threads, 1)) {}

  void accept();
  void add(tcp::socket socket);
  void remove(Connection* c);
  void stop();

  // Declared before ioc: handlers that ioc destroys may hold Connections,
  // whose destructors use them. The pool, last, joins its threads first.
  const ServerConfig& cfg;
  Handlers handlers;
  BodyBudget budget;
  std::atomic<bool> stopping{false};
  std::mutex mu;  // guards conns and each Connection's slot
  std::list<std::weak_ptr<Connection>> conns;
  net::io_context ioc;
  tcp::acceptor acceptor;
  net::steady_timer retry;  // after accept() fails (e.g. out of fds)
  WorkerPool pool;
};

namespace {

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using Impl = HttpTransport::Impl;
  Connection(Impl& t, tcp::socket socket)
      : t_(t), stream_(std::move(socket)), buffer_(t.cfg.max_head_bytes + kReadChunk) {}
  ~Connection() {
    t_.remove(this);
    release_body();
    if (stream_out_) stream_out_->gone();
  }

  /// Where this connection sits in Impl::conns; valid while registered.
  std::list<std::weak_ptr<Connection>>::iterator slot;
  bool registered = false;
  /// When it started waiting for a request (steady ms), 0 while busy. Read
  /// by the accepting thread to pick the connection to evict.
  std::atomic<int64_t> idle_since{0};

  auto executor() { return stream_.get_executor(); }

  void start() { wait_for_request(); }

  /// On this connection's strand: close it now if it is idle (or, when the
  /// server stops, anywhere short of a request being handled or answered);
  /// otherwise close it after the answer. Eviction spares a request whose
  /// first bytes arrived after the connection was picked.
  void finish(bool stopping) {
    close_after_response_ = true;
    if (state_ == State::kIdle || state_ == State::kLingering || (stopping && state_ == State::kReading)) close();
  }

 private:
  enum class State { kIdle, kReading, kHandling, kWriting, kStreaming, kLingering, kClosed };

  void wait_for_request() {
    parser_.reset();
    release_body();
    if (t_.stopping || close_after_response_) return close();
    if (buffer_.size() > 0) return read_head();  // pipelined
    state_ = State::kIdle;
    idle_since = now_ms();
    stream_.expires_after(ms(t_.cfg.keep_alive_ms));
    stream_.async_read_some(buffer_.prepare(kReadChunk),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              self->idle_since = 0;
                              if (ec || self->state_ == State::kClosed) return self->close();
                              self->buffer_.commit(n);
                              self->read_head();
                            });
  }

  void read_head() {
    state_ = State::kReading;
    parser_.emplace(t_.cfg, [this](uint64_t n) { return reserve_body(n); });
    stream_.expires_after(ms(t_.cfg.head_timeout_ms));
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, size_t) { self->on_head(ec); });
  }

  void on_head(beast::error_code ec) {
    if (state_ == State::kClosed) return;
    if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
      std::string why = parser_->too_many_fields()
                            ? "request has more than " + std::to_string(t_.cfg.max_header_fields) + " header fields"
                            : "request head over the limit of " + std::to_string(t_.cfg.max_head_bytes) + " bytes";
      return refuse(431, "header_fields_too_large", why);
    }
    if (ec) return malformed(ec);
    Request& req = parser_->request();
    split_target(req.target, req.path, req.query);
    head_only_ = req.method == "HEAD";
    keep_alive_ = parser_->keep_alive();
    Response res;
    bool admitted = false;
    try {
      admitted = t_.handlers.admit(req, res);
    } catch (const std::exception& e) {
      // An exception must not leave the I/O thread: io_context::run would
      // rethrow it and end the process.
      std::fprintf(stderr, "pycell serve: admit: %.200s\n", e.what());
      return refuse(500, "internal", "internal error while checking the request");
    }
    if (!admitted) {
      // An unread body cannot be told from the next request: close after.
      if (!parser_->is_done()) res.set_header("Connection", "close");
      return respond(std::move(res));
    }
    if (parser_->is_done()) return dispatch();
    if (auto n = parser_->content_length(); n && !reserve_body(*n)) return overloaded_bodies();
    if (iequals(req.get_header_value("Expect"), "100-continue")) {
      static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      stream_.expires_after(ms(t_.cfg.body_timeout_ms));
      return net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                              [self = shared_from_this()](beast::error_code write_ec, size_t) {
                                if (write_ec || self->state_ == State::kClosed) return self->close();
                                self->read_body();
                              });
    }
    read_body();
  }

  void read_body() {
    stream_.expires_after(ms(t_.cfg.body_timeout_ms));
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) { self->on_body(ec); });
  }

  void on_body(beast::error_code ec) {
    if (state_ == State::kClosed) return;
    if (parser_->body_too_large()) {
      return refuse(413, "payload_too_large", body_too_large(t_.cfg.max_body_bytes));
    }
    if (parser_->over_budget()) return overloaded_bodies();
    if (ec) return malformed(ec);
    dispatch();
  }

  /// Hands the request to a worker; its answer comes back on this strand.
  void dispatch() {
    state_ = State::kHandling;
    // The tracked executor keeps the io_context running while the job runs.
    auto work = net::prefer(t_.ioc.get_executor(), net::execution::outstanding_work.tracked);
    auto job = [self = shared_from_this(), req = std::move(parser_->request()), work]() mutable -> WorkerPool::FollowUp {
      std::shared_ptr<ConnectionStream> streamed;
      req.open_stream = [&](Response& head) -> std::shared_ptr<StreamWriter> {
        std::weak_ptr<Connection> weak = self;
        streamed = std::make_shared<ConnectionStream>(self->t_.cfg.stream_buffer_bytes, [weak] {
          if (auto c = weak.lock()) net::post(c->executor(), [c] { c->pump_stream(); });
        });
        net::post(self->executor(), [self, head, s = streamed]() mutable { self->begin_stream(std::move(head), s); });
        return streamed;
      };
      Response res = self->t_.handlers.handle(std::move(req));
      if (streamed) {
        // handle() turned a handler's exception into a 500 that can no
        // longer be sent: the status line is out.
        return [streamed, failed = res.stream == nullptr, work] { streamed->end(failed); };
      }
      return [self, res = std::move(res), work]() mutable {
        net::post(self->executor(), [self, res = std::move(res)]() mutable { self->respond(std::move(res)); });
      };
    };
    if (!t_.pool.try_submit(std::move(job))) {
      Response res;
      res.set_header("Retry-After", "1");
      send_error(res, 503, "overloaded",
                 "all " + std::to_string(t_.pool.threads()) + " workers are busy and as many requests wait; retry later");
      respond(std::move(res));
    }
  }

  void overloaded_bodies() {
    Response res;
    res.set_header("Retry-After", "1");
    res.set_header("Connection", "close");
    send_error(res, 503, "overloaded",
               "request bodies in memory are at the server's limit of " +
                   std::to_string(t_.cfg.max_body_memory_bytes) + " bytes; retry later");
    respond(std::move(res));
  }

  /// A transport-level refusal: JSON error, then close.
  void refuse(int status, const char* code, const std::string& message) {
    Response res;
    res.set_header("Connection", "close");
    send_error(res, status, code, message);
    respond(std::move(res));
  }

  void malformed(beast::error_code ec) {
    // A client that left, went quiet past a deadline, or was closed by us
    // gets nothing; a syntax error gets a 400.
    if (ec == http::error::end_of_stream || ec == http::error::partial_message || ec == beast::error::timeout ||
        ec == net::error::operation_aborted || ec == net::error::connection_reset || ec == net::error::eof) {
      return close();
    }
    refuse(400, "bad_request", "malformed request: " + ec.message());
  }

  void respond(Response res) {
    if (state_ == State::kClosed) return;
    state_ = State::kWriting;
    try {
      write(std::move(res));
    } catch (const std::exception& e) {
      // E.g. a header value over Beast's 64 KiB field limit.
      std::fprintf(stderr, "pycell serve: response not sent: %.200s\n", e.what());
      close();
    }
  }

  void write(Response res) {
    bool close_after = close_after_response_ || t_.stopping || !keep_alive_ ||
                       iequals(res.get_header_value("Connection"), "close");
    res.headers.remove("Connection");
    auto msg = std::make_shared<http::response<http::string_body>>();
    msg->version(parser_ ? parser_->version() : 11);
    msg->result(static_cast<unsigned>(res.status >= 100 && res.status <= 599 ? res.status : 500));
    for (const auto& [name, value] : res.headers.fields()) msg->insert(name, value);
    if (res.status >= 200 && res.status != 204 && res.status != 304) msg->body() = std::move(res.body);
    msg->keep_alive(!close_after);
    msg->prepare_payload();
    auto sr = std::make_shared<http::response_serializer<http::string_body>>(*msg);
    auto done = [self = shared_from_this(), msg, sr, close_after](beast::error_code ec, size_t) {
      if (ec || self->state_ == State::kClosed) return self->close();
      if (close_after) return self->linger();
      self->wait_for_request();
    };
    stream_.expires_after(ms(t_.cfg.body_timeout_ms));
    if (head_only_) {
      http::async_write_header(stream_, *sr, std::move(done));
    } else {
      http::async_write(stream_, *sr, std::move(done));
    }
  }

  /// Sends a streamed response's head; its body follows from pump_stream().
  void begin_stream(Response head, std::shared_ptr<ConnectionStream> s) {
    if (state_ == State::kClosed) return s->gone();
    state_ = State::kStreaming;
    stream_out_ = std::move(s);
    int version = parser_ ? parser_->version() : 11;
    // An HTTP/1.0 body has no chunks: it ends when the connection does.
    stream_close_after_ = version < 11 || close_after_response_ || t_.stopping || !keep_alive_ ||
                          iequals(head.get_header_value("Connection"), "close");
    for (const char* name : {"Connection", "Content-Length", "Transfer-Encoding"}) head.headers.remove(name);
    auto msg = std::make_shared<http::response<http::empty_body>>();
    msg->version(version);
    msg->result(static_cast<unsigned>(head.status >= 200 && head.status <= 599 ? head.status : 500));
    for (const auto& [name, value] : head.headers.fields()) msg->insert(name, value);
    msg->keep_alive(!stream_close_after_);
    stream_chunked_ = version >= 11;
    if (stream_chunked_) msg->chunked(true);
    auto sr = std::make_shared<http::response_serializer<http::empty_body>>(*msg);
    stream_writing_ = true;
    stream_.expires_after(ms(t_.cfg.stream_stall_ms));
    http::async_write_header(stream_, *sr, [self = shared_from_this(), msg, sr](beast::error_code ec, size_t) {
      self->stream_writing_ = false;
      if (ec || self->state_ == State::kClosed) return self->close();
      // Nobody reads a HEAD's body: the handler may stop at once.
      if (self->head_only_) self->stream_out_->gone();
      self->watch_peer();
      self->pump_stream();
    });
  }

  /// Sends what the handler queued, one write at a time, and the end.
  void pump_stream() {
    if (state_ != State::kStreaming || stream_writing_) return;
    switch (stream_out_->take(kStreamWriteChunk, stream_chunk_)) {
      case ConnectionStream::Next::kIdle:
        return;
      case ConnectionStream::Next::kFail:
        return close();
      case ConnectionStream::Next::kEnd:
        if (!stream_chunked_ || head_only_) return end_stream();
        stream_writing_ = true;
        stream_.expires_after(ms(t_.cfg.stream_stall_ms));
        return net::async_write(stream_, http::make_chunk_last(), [self = shared_from_this()](beast::error_code ec, size_t) {
          self->stream_writing_ = false;
          if (ec || self->state_ == State::kClosed) return self->close();
          self->end_stream();
        });
      case ConnectionStream::Next::kData:
        break;
    }
    stream_writing_ = true;
    stream_.expires_after(ms(t_.cfg.stream_stall_ms));
    auto done = [self = shared_from_this(), n = stream_chunk_.size()](beast::error_code ec, size_t) {
      self->stream_writing_ = false;
      if (ec || self->state_ == State::kClosed) return self->close();
      self->stream_out_->release(n);
      self->pump_stream();
    };
    if (stream_chunked_) {
      net::async_write(stream_, http::make_chunk(net::buffer(stream_chunk_)), std::move(done));
    } else {
      net::async_write(stream_, net::buffer(stream_chunk_), std::move(done));
    }
  }

  /// While a stream is sent, reads from the client only to notice it leave
  /// (EOF or an error): the run it asked for can then be cancelled even if it
  /// prints nothing. Bytes it sends meanwhile (a pipelined request) are kept
  /// in the read buffer, up to its size; past that, only a failed write can
  /// tell that the client left. A client that half-closes its side to say
  /// the request is complete counts as gone, as in most servers.
  void watch_peer() {
    size_t room = buffer_.max_size() - buffer_.size();
    if (room == 0) return;
    watching_ = true;
    // The socket, not the stream: the stream's timer belongs to the writes.
    stream_.socket().async_read_some(buffer_.prepare(std::min(room, kReadChunk)),
                                     [self = shared_from_this()](beast::error_code ec, size_t n) {
                                       self->watching_ = false;
                                       if (self->state_ == State::kClosed) return;
                                       if (!ec) {
                                         self->buffer_.commit(n);
                                         return self->stream_done_ ? self->after_stream() : self->watch_peer();
                                       }
                                       if (ec == net::error::operation_aborted && self->stream_done_) {
                                         return self->after_stream();
                                       }
                                       self->close();
                                     });
  }

  void end_stream() {
    stream_done_ = true;
    if (!watching_) return after_stream();
    beast::error_code ignored;
    stream_.socket().cancel(ignored);  // watch_peer's read ends, then after_stream
  }

  void after_stream() {
    stream_done_ = false;
    stream_out_.reset();
    if (stream_close_after_ || close_after_response_ || t_.stopping) return linger();
    wait_for_request();
  }

  void linger() {
    state_ = State::kLingering;
    parser_.reset();
    release_body();
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    linger_until_ = now_ms() + kLingerTotalMs;
    drain();
  }

  void drain() {
    int64_t left = linger_until_ - now_ms();
    if (left <= 0) return close();
    buffer_.clear();
    stream_.expires_after(ms(std::min(left, kLingerQuietMs)));
    stream_.async_read_some(buffer_.prepare(kReadChunk), [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec || self->state_ == State::kClosed) return self->close();
      self->drain();
    });
  }

  void close() {
    if (state_ == State::kClosed) return;
    state_ = State::kClosed;
    idle_since = 0;
    stream_.close();
    t_.remove(this);
    // A handler still writing stops waiting, and its close hook runs.
    if (stream_out_) stream_out_->gone();
  }

  bool reserve_body(uint64_t n) {
    if (!t_.budget.take(n)) return false;
    body_reserved_ += n;
    return true;
  }
  void release_body() {
    t_.budget.give(body_reserved_);
    body_reserved_ = 0;
  }

  Impl& t_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<RequestParser> parser_;
  State state_ = State::kIdle;
  bool keep_alive_ = true;
  bool head_only_ = false;
  bool close_after_response_ = false;
  uint64_t body_reserved_ = 0;
  int64_t linger_until_ = 0;
  // A streamed response (State::kStreaming).
  std::shared_ptr<ConnectionStream> stream_out_;
  std::string stream_chunk_;  // the bytes being written
  bool stream_writing_ = false;
  bool stream_close_after_ = false;
  bool stream_chunked_ = false;
  bool watching_ = false;     // watch_peer's read is pending
  bool stream_done_ = false;  // the body has ended; waiting for that read to stop
};

}  // namespace

void HttpTransport::Impl::accept() {
  acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (stopping || ec == net::error::operation_aborted) return;
    if (ec) {
      // Usually EMFILE: retrying at once would spin. Clients wait in the backlog.
      std::fprintf(stderr, "pycell serve: accept: %s\n", ec.message().c_str());
      retry.expires_after(ms(100));
      retry.async_wait([this](beast::error_code e) {
        if (!e) accept();
      });
      return;
    }
    add(std::move(socket));
    accept();
  });
}

void HttpTransport::Impl::add(tcp::socket socket) {
  beast::error_code ignored;
  // Without it, Nagle's algorithm meets the client's delayed ACK and a
  // response written in two parts waits ~40 ms.
  socket.set_option(tcp::no_delay(true), ignored);
  std::shared_ptr<Connection> victim;
  auto conn = std::make_shared<Connection>(*this, std::move(socket));
  // Released after the lock: a last reference dropped under it would run
  // ~Connection, which takes the lock.
  std::vector<std::shared_ptr<Connection>> seen;
  {
    std::lock_guard lock(mu);
    if (conns.size() >= cfg.max_connections) {
      // Make room by closing the connection idle longest; a connection in
      // the middle of a request is never dropped for a new one.
      int64_t oldest = INT64_MAX;
      for (auto& w : conns) {
        auto c = w.lock();
        int64_t since = c ? c->idle_since.load() : 0;
        if (since != 0 && since < oldest) {
          oldest = since;
          victim = c;
        }
        seen.push_back(std::move(c));
      }
      if (!victim) return;  // all busy: the new connection closes unanswered
      conns.erase(victim->slot);
      victim->registered = false;
    }
    conn->slot = conns.insert(conns.end(), conn);
    conn->registered = true;
  }
  if (victim) net::post(victim->executor(), [victim] { victim->finish(/*stopping=*/false); });
  net::dispatch(conn->executor(), [conn] { conn->start(); });
}

void HttpTransport::Impl::remove(Connection* c) {
  std::lock_guard lock(mu);
  if (!c->registered) return;
  conns.erase(c->slot);
  c->registered = false;
}

void HttpTransport::Impl::stop() {
  stopping = true;
  net::post(acceptor.get_executor(), [this] {
    beast::error_code ignored;
    acceptor.close(ignored);
    retry.cancel();
    std::vector<std::shared_ptr<Connection>> all;
    {
      std::lock_guard lock(mu);
      for (auto& w : conns) {
        if (auto c = w.lock()) all.push_back(std::move(c));
      }
    }
    for (auto& c : all) net::post(c->executor(), [c] { c->finish(/*stopping=*/true); });
  });
}

HttpTransport::HttpTransport(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpTransport::~HttpTransport() = default;

Result<std::unique_ptr<HttpTransport>> HttpTransport::bind(const ServerConfig& config, Handlers handlers) {
  auto impl = std::make_unique<Impl>(config, std::move(handlers));
  auto fail = [&](const std::string& why) {
    return Error(ErrorCode::kUnavailable,
                 "cannot listen on " + config.host + ":" + std::to_string(config.port) + ": " + why);
  };
  beast::error_code ec;
  tcp::resolver resolver(impl->ioc);
  auto endpoints = resolver.resolve(config.host, std::to_string(config.port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec) return fail(ec.message());
  for (const auto& entry : endpoints) {
    tcp::acceptor& a = impl->acceptor;
    beast::error_code e;
    a.open(entry.endpoint().protocol(), e);
    // SO_REUSEADDR only: SO_REUSEPORT would let a second server bind the
    // same port and silently take half of the connections.
    if (!e) a.set_option(net::socket_base::reuse_address(true), e);
    if (!e) a.bind(entry.endpoint(), e);
    if (!e) a.listen(net::socket_base::max_listen_connections, e);
    if (!e) {
      impl->accept();
      return std::unique_ptr<HttpTransport>(new HttpTransport(std::move(impl)));
    }
    ec = e;
    beast::error_code ignored;
    a.close(ignored);
  }
  return fail(ec ? ec.message() : "no address");
}

uint16_t HttpTransport::port() const {
  beast::error_code ec;
  return impl_->acceptor.local_endpoint(ec).port();
}

void HttpTransport::run() {
  std::thread second([this] { impl_->ioc.run(); });
  impl_->ioc.run();
  second.join();
}

void HttpTransport::stop() { impl_->stop(); }

}  // namespace pycell::server
