// ServerContext: engine, sessions, stateless pool, and the sandbox summary.
#include "context.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstring>

#include "redis_store.h"

#include "common/loopback.h"
#include "common/policy.h"

namespace pycell::server {
namespace {

using policy::format_bytes;

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

/// The summary quoted in tool descriptions. Every number comes from the
/// config, so a model reads the limits it will actually meet.
std::string describe(const SessionConfig& sc) {
  const Limits& l = sc.limits;
  std::string s = "Python " + std::string(Engine::python_version()) +
                  " (CPython) in an isolated WebAssembly sandbox: the standard library, numpy and pandas.\n"
                  "It can: compute; use the standard library (json, re, math, datetime, "
                  "collections, itertools, decimal, fractions, statistics, csv, textwrap, hashlib, base64, "
                  "zlib, bz2, lzma, ...); numpy (no BLAS, no threads; the default integer is 32-bit); pandas "
                  "(read_csv and friends, groupby, datetimes with time zones; no pyarrow, no Excel or parquet); sqlite3 (databases under /tmp); asyncio (top-level await works in a "
                  "cell); read and write files under /tmp (its working directory, private to the "
                  "sandbox, at most " +
                  format_bytes(l.tmp_bytes) + " and " + std::to_string(l.tmp_files) +
                  " files); print (stdout and stderr are returned). The value of a final expression is "
                  "returned, as in a notebook cell.\n"
                  "It cannot: install packages (no pip; requests and other third-party "
                  "packages are absent); use ssl or ctypes (not built); start threads or subprocesses "
                  "(no run_in_executor/to_thread); read stdin; see the host's files, environment or processes";
  if (sc.http) {
    s += ".\nNetwork: no sockets; HTTP(S) only through urllib.request (or pycell_http), and only to: " +
         join(sc.http->allow_hosts, ", ");
  } else {
    s += "; use the network (no sockets, no HTTP)";
  }
  s += ".\n";
  if (!sc.mounts.empty()) {
    std::vector<std::string> m;
    for (const auto& mount : sc.mounts) {
      m.push_back(mount.guest_path + (mount.access == Mount::Access::kReadOnly ? " (read-only)" : " (read-write)"));
    }
    s += "Host directories visible: " + join(m, ", ") + ".\n";
  }
  if (!sc.functions.empty()) {
    std::vector<std::string> f;
    for (const auto& fn : sc.functions) f.push_back("pycell_host." + fn.name);
    s += "Host functions callable: " + join(f, ", ") + " (see help() on each).\n";
  }
  if (!sc.env.empty()) {
    std::vector<std::string> names;
    for (const auto& kv : sc.env) names.push_back(kv.substr(0, kv.find('=')));
    s += "Environment variables set: " + join(names, ", ") + ".\n";
  }
  s += "Limits per call: ";
  s += l.timeout_ms ? std::to_string(l.timeout_ms) + " ms wall clock (then TimeoutError)" : "no wall-clock limit";
  s += ", " + format_bytes(l.memory_bytes) + " memory (then MemoryError)";
  if (l.fuel) s += ", " + std::to_string(l.fuel) + " fuel units of CPU (about one per bytecode)";
  s += ", " + format_bytes(l.output_bytes) + " of stdout and of stderr each (the rest is cut).";
  return s;
}

/// The string-hash secret of every worker sharing `cluster_key`.
uint64_t derived_hash_seed(const std::string& cluster_key) {
  static constexpr std::string_view kLabel = "pycell hash seed";
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), cluster_key.data(), static_cast<int>(cluster_key.size()),
            reinterpret_cast<const unsigned char*>(kLabel.data()), kLabel.size(), mac, &len)) {
    std::abort();  // HMAC-SHA256 fails only without memory
  }
  uint64_t seed;
  std::memcpy(&seed, mac, sizeof seed);
  return seed;
}

}  // namespace

ServerContext::ServerContext(const ServerConfig& config, Engine engine, std::unique_ptr<SessionPool> pool,
                             std::unique_ptr<DurableStore> store)
    : config_(config),
      sessions_(std::move(engine),
                RegistryLimits{config.max_sessions, std::min(config.max_sessions, config.max_sessions_per_principal),
                               config.session_idle_ms, config.max_snapshots, config.max_snapshot_bytes,
                               config.snapshot_idle_ms, config.worker_tag},
                std::move(store)),
      pool_(std::move(pool)),
      summary_(describe(config.session)) {}

Result<std::unique_ptr<ServerContext>> ServerContext::create(const ServerConfig& config) {
  if (!policy::is_loopback_name(config.host) && config.bearer_token.empty() && !config.insecure_no_token) {
    return Error(ErrorCode::kInvalidArgument,
                 "refusing to listen on " + config.host +
                     " without a bearer token: anyone who can reach it could run code. Set --bearer-token, "
                     "or pass --insecure-no-token to serve unauthenticated anyway");
  }
  if (!config.worker_tag.empty() && !valid_worker_tag(config.worker_tag)) {
    return Error(ErrorCode::kInvalidArgument,
                 "worker tag '" + config.worker_tag + "' must be 1 to 32 lowercase letters, digits or '-'");
  }
  EngineConfig ec = config.engine;
  std::optional<RedisAddress> store_at;
  if (!config.store_url.empty()) {
    auto a = parse_redis_url(config.store_url);
    if (!a) return a.error();
    store_at = *a;
    if (!ec.snapshot_key) {
      return Error(ErrorCode::kInvalidArgument,
                   "a durable store needs the cluster key that every worker shares (--cluster-key): it seals what "
                   "the workers write there");
    }
    // Delta snapshots apply only between engines with byte-identical bases,
    // so every worker needs the same string-hash secret: one derived from
    // the cluster key, as secret as the key.
    if (!ec.hash_seed) ec.hash_seed = derived_hash_seed(*ec.snapshot_key);
  }
  auto engine = Engine::create(std::move(ec));
  if (!engine) return engine.error();
  std::unique_ptr<DurableStore> store;
  if (store_at) {
    auto redis = RedisStore::connect(*store_at, config.store_timeout_ms);
    if (!redis) return redis.error();
    store = std::make_unique<DurableStore>(std::move(*redis), *engine, *config.engine.snapshot_key, config.session,
                                           config.session_idle_ms);
  }
  PoolConfig pc;
  pc.max_sessions = config.max_stateless_execs;
  pc.warm = std::min<size_t>(2, config.max_stateless_execs);
  pc.session = config.session;
  auto pool = SessionPool::create(*engine, std::move(pc));
  if (!pool) return pool.error();
  return std::unique_ptr<ServerContext>(
      new ServerContext(config, std::move(*engine), std::move(*pool), std::move(store)));
}

Result<ExecResult> ServerContext::exec_stateless(std::string_view code, const ExecOptions& options,
                                                 std::optional<SessionConfig> config) {
  std::optional<Result<ExecResult>> out;
  auto r = with_stateless_session(std::move(config), [&](Session& session) { out = session.exec(code, options); });
  if (!r) return r.error();
  return std::move(*out);
}

Result<void> ServerContext::with_stateless_session(std::optional<SessionConfig> config,
                                                   const std::function<void(Session&)>& use) {
  if (stateless_running_.fetch_add(1) >= config_.max_stateless_execs) {
    stateless_running_--;
    return Error(ErrorCode::kResourceExhausted,
                 "busy: " + std::to_string(config_.max_stateless_execs) + " stateless runs are in progress");
  }
  struct Release {
    std::atomic<size_t>& n;
    ~Release() { n--; }
  } release{stateless_running_};
  // Tracked by the registry while it runs, so that shutdown cancels it too.
  auto run = [&](Session& session) -> Result<void> {
    if (!sessions_.track_run(&session)) return Error(ErrorCode::kResourceExhausted, "the server is shutting down");
    struct Untrack {
      SessionRegistry& reg;
      Session* s;
      ~Untrack() { reg.untrack_run(s); }
    } untrack{sessions_, &session};
    use(session);
    return Ok();
  };
  if (config) {
    auto session = Session::create(sessions_.engine(), std::move(*config));
    if (!session) return session.error();
    return run(*session);
  }
  auto lease = pool_->acquire();
  if (!lease) return lease.error();
  return run(**lease);
}

}  // namespace pycell::server
