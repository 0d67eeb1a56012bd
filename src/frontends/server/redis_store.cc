// RedisStore: pooled hiredis connections; compare-and-set and the other
// multi-step operations are Lua scripts, which Redis runs atomically.
#include "redis_store.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <csignal>
#include <charconv>
#include <cstring>

namespace pycell::server {
namespace {

// Every script reads and writes only KEYS[1], so it also works on a Redis
// Cluster. Versions are integers below 2^53 (Lua numbers are doubles).
constexpr const char* kCompareAndSet = R"(
local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if v ~= tonumber(ARGV[1]) then return v end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'o', ARGV[3], 'e', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return -1)";

constexpr const char* kVersion = R"(
local v = redis.call('HGET', KEYS[1], 'v')
if not v then return -1 end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return tonumber(v))";

constexpr const char* kRemove = R"(
if redis.call('HGET', KEYS[1], 'o') ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1]))";

constexpr const char* kPutNew = R"(
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'o', ARGV[1], 'e', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1)";

timeval to_timeval(uint64_t ms) {
  return timeval{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
}

std::optional<int> parse_int(std::string_view s) {
  int v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

/// What the scripts and HGET answer: an integer, a string or nil.
struct RedisStore::Reply {
  bool nil = false;
  long long integer = 0;
  std::string text;
};

Result<RedisAddress> parse_redis_url(std::string_view url) {
  constexpr std::string_view kScheme = "redis://";
  auto bad = [&](const std::string& why) {
    return Error(ErrorCode::kInvalidArgument, "store URL '" + std::string(url) + "': " + why +
                                                  " (expected redis://HOST:PORT[/DB])");
  };
  if (!url.starts_with(kScheme)) return bad("not a redis:// URL");
  std::string_view rest = url.substr(kScheme.size());
  RedisAddress a;
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    auto db = parse_int(rest.substr(slash + 1));
    if (!db || *db < 0) return bad("the database is not a number");
    a.db = *db;
    rest = rest.substr(0, slash);
  }
  if (rest.find('@') != std::string_view::npos) return bad("credentials in the URL are not supported");
  size_t colon;
  if (rest.starts_with("[")) {
    auto close = rest.find(']');
    if (close == std::string_view::npos) return bad("unclosed [");
    a.host = std::string(rest.substr(1, close - 1));
    colon = close + 1 < rest.size() && rest[close + 1] == ':' ? close + 1 : std::string_view::npos;
    if (colon == std::string_view::npos && close + 1 != rest.size()) return bad("junk after ]");
  } else {
    colon = rest.rfind(':');
    a.host = std::string(rest.substr(0, colon));
  }
  if (colon != std::string_view::npos) {
    auto port = parse_int(rest.substr(colon + 1));
    if (!port || *port < 1 || *port > 65535) return bad("the port is not a number from 1 to 65535");
    a.port = *port;
  }
  if (a.host.empty()) return bad("no host");
  return a;
}

Result<std::unique_ptr<RedisStore>> RedisStore::connect(RedisAddress address, uint64_t timeout_ms) {
  // hiredis writes with write(2): on a connection the store closed (a Redis
  // restart) that raises SIGPIPE, whose default action would kill the worker.
  // Ignored, the write fails with EPIPE and the request gets 503 or a retry.
  std::signal(SIGPIPE, SIG_IGN);
  std::unique_ptr<RedisStore> s(new RedisStore(std::move(address), timeout_ms));
  // One round trip now, so that a wrong address stops the server at start-up
  // instead of failing its first request.
  auto c = s->open();
  if (!c) return c.error();
  std::lock_guard lock(s->mu_);
  s->idle_.push_back(*c);
  return s;
}

RedisStore::~RedisStore() {
  for (redisContext* c : idle_) redisFree(c);
}

std::string RedisStore::where() const {
  return "store redis://" + address_.host + ":" + std::to_string(address_.port) + "/" + std::to_string(address_.db);
}

Result<redisContext*> RedisStore::open() {
  redisContext* c = redisConnectWithTimeout(address_.host.c_str(), address_.port, to_timeval(timeout_ms_));
  if (!c || c->err) {
    std::string why = c ? c->errstr : "out of memory";
    if (c) redisFree(c);
    return Error(ErrorCode::kIo, where() + " unreachable: " + why);
  }
  // The same bound for every command's round trip as for the connect.
  if (redisSetTimeout(c, to_timeval(timeout_ms_)) != REDIS_OK) {
    redisFree(c);
    return Error(ErrorCode::kIo, where() + ": cannot set a timeout");
  }
  if (address_.db != 0) {
    auto* r = static_cast<redisReply*>(redisCommand(c, "SELECT %d", address_.db));
    const bool ok = r && r->type == REDIS_REPLY_STATUS;
    std::string why = r ? (r->str ? r->str : "") : c->errstr;
    if (r) freeReplyObject(r);
    if (!ok) {
      redisFree(c);
      return Error(ErrorCode::kIo, where() + ": SELECT failed: " + why);
    }
  }
  return c;
}

Result<RedisStore::Reply> RedisStore::command(const std::vector<std::string>& argv) {
  std::vector<const char*> args;
  std::vector<size_t> lens;
  for (const auto& a : argv) {
    args.push_back(a.data());
    lens.push_back(a.size());
  }
  redisReply* r = nullptr;
  redisContext* c = nullptr;
  // A pooled connection may have been closed by the store since its last use
  // (a Redis restart): that fails at once, and the command is sent once more
  // on a new connection. A timeout is never retried: the command may have run.
  for (int attempt = 0; !r; ++attempt) {
    bool pooled = false;
    {
      std::lock_guard lock(mu_);
      if (!idle_.empty()) {
        c = idle_.back();
        idle_.pop_back();
        pooled = true;
      }
    }
    if (!c) {
      auto opened = open();
      if (!opened) return opened.error();
      c = *opened;
    }
    r = static_cast<redisReply*>(redisCommandArgv(c, static_cast<int>(args.size()), args.data(), lens.data()));
    if (r) break;
    // Timed out or the connection broke: its state is unknown, so it goes.
    const bool timed_out = c->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK);
    std::string why = timed_out ? "no answer within " + std::to_string(timeout_ms_) + " ms" : std::string(c->errstr);
    redisFree(c);
    c = nullptr;
    if (timed_out || !pooled || attempt > 0) return Error(ErrorCode::kIo, where() + " failed: " + why);
  }
  Reply out;
  std::string error;
  switch (r->type) {
    case REDIS_REPLY_NIL:
      out.nil = true;
      break;
    case REDIS_REPLY_INTEGER:
      out.integer = r->integer;
      break;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
      out.text.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      error.assign(r->str, r->len);
      break;
    default:
      error = "unexpected reply type " + std::to_string(r->type);
  }
  freeReplyObject(r);
  {
    std::lock_guard lock(mu_);
    idle_.push_back(c);
  }
  if (!error.empty()) return Error(ErrorCode::kIo, where() + " refused: " + error);
  return out;
}

Result<std::optional<uint64_t>> RedisStore::compare_and_set(const std::string& key, uint64_t expected,
                                                            uint64_t version, const std::string& owner,
                                                            const std::string& value, uint64_t ttl_ms) {
  auto r = command({"EVAL", kCompareAndSet, "1", key, std::to_string(expected), std::to_string(version), owner,
                    value, std::to_string(ttl_ms)});
  if (!r) return r.error();
  if (r->integer == -1) return std::optional<uint64_t>();
  return std::optional<uint64_t>(static_cast<uint64_t>(r->integer));
}

Result<std::optional<uint64_t>> RedisStore::version(const std::string& key, uint64_t ttl_ms) {
  auto r = command({"EVAL", kVersion, "1", key, std::to_string(ttl_ms)});
  if (!r) return r.error();
  if (r->integer < 0) return std::optional<uint64_t>();
  return std::optional<uint64_t>(static_cast<uint64_t>(r->integer));
}

Result<std::optional<std::string>> RedisStore::get(const std::string& key, const std::string& field) {
  auto r = command({"HGET", key, field});
  if (!r) return r.error();
  if (r->nil) return std::optional<std::string>();
  return std::optional<std::string>(std::move(r->text));
}

Result<bool> RedisStore::remove(const std::string& key, const std::string& owner) {
  auto r = command({"EVAL", kRemove, "1", key, owner});
  if (!r) return r.error();
  return r->integer > 0;
}

Result<void> RedisStore::put_new(const std::string& key, const std::string& owner, const std::string& value,
                                 uint64_t ttl_ms) {
  auto r = command({"EVAL", kPutNew, "1", key, owner, value, std::to_string(ttl_ms)});
  if (!r) return r.error();
  if (r->integer != 1) return Error(ErrorCode::kConflict, where() + ": " + key + " exists already");
  return Ok();
}

}  // namespace pycell::server
