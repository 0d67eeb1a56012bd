// RedisStore: the few Redis operations durable sessions need, over hiredis,
// with a timeout on every connect and every command.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "pycell/error.h"

struct redisContext;

namespace pycell::server {

/// Where the store is: redis://HOST:PORT[/DB].
struct RedisAddress {
  std::string host;
  int port = 6379;
  int db = 0;
};

/// Parses redis://HOST:PORT[/DB] (HOST a name, an IPv4 address or [IPv6]).
/// Errors: kInvalidArgument naming what is wrong.
Result<RedisAddress> parse_redis_url(std::string_view url);

/// Thread-safe: each call takes a pooled connection (or opens one), so
/// concurrent requests do not wait for each other. A connection that saw an
/// error is closed, never reused. Every error is kIo with a message naming
/// the store; a call never waits longer than the timeout per round trip.
class RedisStore {
 public:
  static Result<std::unique_ptr<RedisStore>> connect(RedisAddress address, uint64_t timeout_ms);
  ~RedisStore();
  RedisStore(const RedisStore&) = delete;
  RedisStore& operator=(const RedisStore&) = delete;

  /// Writes `value` and `version` to hash `key` (fields "e", "v") and the
  /// owner (field "o") if the version stored is `expected` (0: no entry), in
  /// one step; then the key expires after `ttl_ms` unused. nullopt on success,
  /// else the version found (the write did not happen).
  Result<std::optional<uint64_t>> compare_and_set(const std::string& key, uint64_t expected, uint64_t version,
                                                  const std::string& owner, const std::string& value,
                                                  uint64_t ttl_ms);
  /// The version stored under `key` (nullopt: none), extending its life by `ttl_ms`.
  Result<std::optional<uint64_t>> version(const std::string& key, uint64_t ttl_ms);
  /// Field `field` of hash `key`; nullopt if there is none.
  Result<std::optional<std::string>> get(const std::string& key, const std::string& field);
  /// Deletes `key` if its field "o" is `owner`; false if there was no such key.
  Result<bool> remove(const std::string& key, const std::string& owner);
  /// Sets hash `key` to {"e": value, "o": owner} unless it exists, expiring after `ttl_ms` unused.
  Result<void> put_new(const std::string& key, const std::string& owner, const std::string& value, uint64_t ttl_ms);

 private:
  struct Reply;
  RedisStore(RedisAddress address, uint64_t timeout_ms) : address_(std::move(address)), timeout_ms_(timeout_ms) {}
  /// Runs one command on a pooled connection.
  Result<Reply> command(const std::vector<std::string>& argv);
  Result<redisContext*> open();
  std::string where() const;

  const RedisAddress address_;
  const uint64_t timeout_ms_;
  std::mutex mu_;
  std::vector<redisContext*> idle_;
};

}  // namespace pycell::server
