// Session: one guest instance with its memory, budget, WASI context and /tmp;
// created cold or from a snapshot, and rolled back to its committed snapshot
// when a run leaves the interpreter in an unknown state.
#include "pycell/session.h"

#include <algorithm>
#include <chrono>
#include <exception>

#include <nlohmann/json.hpp>

#include "core/engine_state.h"
#include "core/guest_result.h"
#include "core/host_functions.h"
#include "core/root_fs.h"
#include "core/session_access.h"
#include "core/snapshot_state.h"
#include "pycell/json.h"
#include "rt/budget.h"
#include "rt/guest_call.h"
#include "rt/guest_memory.h"
#include "rt/instance.h"
#include "rt/trap.h"
#include "vfs/mem_fs.h"
#include "wasi/context.h"

namespace pycell {

struct SessionState {
  std::shared_ptr<const EngineState> engine;
  SessionConfig config;
  std::unique_ptr<rt::GuestMemory> memory;
  std::unique_ptr<rt::Budget> budget;   // the guest holds its address
  std::unique_ptr<wasi::Context> wasi;  // likewise
  std::unique_ptr<rt::Instance> instance;
  std::shared_ptr<vfs::Node> root;      // the guest's "/"
  std::shared_ptr<vfs::Node> tmp;       // its /tmp
  OpenMounts mounts;                    // the host directories it was granted
  std::shared_ptr<const HostFunctions> functions;
  std::optional<Snapshot> committed;
  /// `committed` is the snapshot the session was created from, which lacks
  /// the session's set-up run (configure: environment, grants, re-seeding):
  /// after a rollback to it, the set-up is owed (`setup_pending`) and runs
  /// before the next run.
  bool setup_after_rollback = false;
  bool setup_pending = false;
  /// The set-up re-seeds (EngineState::reseed, for the engine's own snapshot).
  bool reseed = false;
  /// The snapshot whose memory image `memory` maps (null after a cold start).
  std::shared_ptr<const SnapshotState> mapped;
  /// The guest's request buffer as last reported (re-asked after a load).
  uint32_t buffer_addr = 0, buffer_cap = 0;
  /// Set when the state is unknown and there is nothing to roll back to.
  std::string broken;
  /// A run is in progress: the guest is suspended in a host function or an
  /// output callback, which may call back into this session on this thread.
  bool running = false;

  uint64_t stack() const { return config.limits.native_stack_bytes; }
};

namespace {

constexpr uint32_t kFlagScript = 1, kFlagWantJson = 2, kFlagRunAtexit = 4;  // guest/python/_pycell.py

/// Refuses `op` while a run is in progress on the session: its guest frames
/// are suspended on the instance, so another run would reset the run's budget
/// and a rollback or restore would free the memory they resume on.
Result<void> check_idle(const SessionState& s, std::string_view op) {
  if (!s.running) return Ok();
  return Error(ErrorCode::kUnavailable,
               std::string(op) + ": the session is running code; its own host functions and output callback cannot "
                                 "use it");
}

/// Runs an embedder's output callback on the host's stack (see
/// rt::run_on_host_stack): the guest's stack keeps only a small reserve for
/// host code, and a callback may use any amount. An exception cannot cross
/// the guest's frames: it is kept, the run is stopped, and exec rethrows it.
struct OutputCall {
  const ExecOptions* options;
  Stream stream;
  std::string_view bytes;
  std::exception_ptr* failure;
  rt::Budget* budget;

  static void run(void* p) noexcept {
    auto* c = static_cast<OutputCall*>(p);
    if (*c->failure) return;  // the run is being stopped; nobody listens any more
    try {
      c->options->on_output(c->stream, c->bytes);
    } catch (...) {
      *c->failure = std::current_exception();
      c->budget->request_stop(rt::Budget::Stop::kCancelled);
    }
  }
};

std::string trap_message(int code) {
  return std::string("guest trapped: ") + std::string(to_string(rt::to_trap_kind(code)));
}

std::shared_ptr<vfs::MemQuota> tmp_quota(const Limits& limits) {
  auto q = std::make_shared<vfs::MemQuota>();
  q->max_bytes = limits.tmp_bytes;
  q->max_files = limits.tmp_files;
  q->max_depth = limits.tmp_depth;
  return q;
}

/// Everything but memory and instance: budget, WASI context (empty fd table),
/// mounts (opened anew: each session has its own write quota) and host
/// functions (`functions` if given: a fork shares its parent's, built from the
/// same config).
Result<std::unique_ptr<SessionState>> new_state(std::shared_ptr<const EngineState> engine, SessionConfig config,
                                                std::shared_ptr<const HostFunctions> shared_functions = nullptr) {
  auto functions = shared_functions ? Result<std::shared_ptr<const HostFunctions>>(std::move(shared_functions))
                                    : HostFunctions::create(config);
  if (!functions) return functions.error();
  auto mounts = open_mounts(config.mounts, config.limits);
  if (!mounts) return mounts.error();
  auto s = std::make_unique<SessionState>();
  s->mounts = std::move(*mounts);
  s->functions = std::move(*functions);
  s->engine = std::move(engine);
  s->config = std::move(config);
  s->budget = std::make_unique<rt::Budget>();
  s->wasi = std::make_unique<wasi::Context>();
  s->wasi->budget = s->budget.get();
  s->wasi->env = s->config.env;
  s->wasi->out.cap = s->config.limits.output_bytes;
  s->wasi->err.cap = s->config.limits.output_bytes;
  s->wasi->host.max_args = s->config.limits.host_call_bytes;
  s->wasi->host.dispatch = [functions = s->functions, budget = s->budget.get()](
                               std::string_view name, std::string_view args, std::string& reply) {
    return functions->dispatch(name, args, *budget, reply);
  };
  if (const Determinism& d = s->config.determinism; d.enabled) {
    s->wasi->deterministic.emplace(d.seed, d.start_time_ns, d.ns_per_fuel);
  }
  return s;
}

/// Copies an fd table, mapping nodes through `map` and the root marker.
std::vector<std::optional<wasi::FdEntry>> map_fds(const std::vector<std::optional<wasi::FdEntry>>& fds,
                                                  const vfs::Node* from_root, std::shared_ptr<vfs::Node> to_root,
                                                  const vfs::NodeMap& map) {
  std::vector<std::optional<wasi::FdEntry>> out;
  out.reserve(fds.size());
  for (const auto& f : fds) {
    if (!f) {
      out.emplace_back();
      continue;
    }
    wasi::FdEntry e = *f;
    if (e.kind == wasi::FdEntry::Kind::kNode) {
      // A snapshot names the root with a null node (see capture).
      if (e.node && is_mount_node(*e.node)) {
        out.emplace_back();  // see is_mount_node
        continue;
      }
      if (e.node.get() == from_root) {
        e.node = to_root;
      } else if (auto it = map.find(e.node.get()); it != map.end()) {
        e.node = it->second;
      }  // else: a read-only image or static node, shared as it is
    }
    out.push_back(std::move(e));
  }
  return out;
}

/// Copies into `map` what `fds` hold of /tmp that the tree copy did not reach
/// (files and directories removed while open), so that no two sessions share
/// one. False if their bytes do not fit `quota`.
bool copy_detached(const std::vector<std::optional<wasi::FdEntry>>& fds, const std::shared_ptr<vfs::MemQuota>& quota,
                   vfs::NodeMap& map) {
  for (const auto& f : fds) {
    if (f && f->node && !vfs::copy_detached(*f->node, quota, map)) return false;
  }
  return true;
}

/// Loads a snapshot into `s` (memory, instance, /tmp, fds). `donor`, if given,
/// is a live instance to take the table template from when the engine has none.
Result<void> load(SessionState& s, const Snapshot& snap, const rt::Instance* donor = nullptr) {
  const SnapshotState& st = *snap.state();
  const bool engine_base = s.engine->base && s.engine->base->state() == snap.state();
  // The engine's table template, or (an engine built without preinit) a live
  // instance's: every instance of a build has the same table.
  std::shared_ptr<const rt::TableTemplate> table = s.engine->table;
  if (!donor) donor = s.instance.get();
  if (!table && donor) table = donor->capture_table();
  if (!table) return Error(ErrorCode::kUnavailable, "the engine was created without preinit: no table template");
  auto memory = rt::GuestMemory::create(st.memory, s.config.limits.memory_bytes);
  if (!memory) return memory.error();
  if (engine_base) (*memory)->prefault(s.engine->hot);
  vfs::NodeMap map;
  auto quota = tmp_quota(s.config.limits);
  auto tmp = vfs::copy_mem_tree(*st.tmp, quota, map);
  if (!tmp || !copy_detached(st.fds, quota, map)) {
    return Error(ErrorCode::kInvalidArgument, "the snapshot's /tmp does not fit this session's /tmp limits");
  }
  // Replace only after everything that can fail has succeeded.
  s.instance.reset();
  s.memory = std::move(*memory);
  s.mapped = snap.state();
  s.tmp = tmp.value;
  s.root = make_root(*s.engine, s.tmp, s.mounts);
  s.wasi->memory = s.memory.get();
  s.wasi->fds = map_fds(st.fds, nullptr, s.root, map);
  s.wasi->exit_code.reset();
  s.instance = rt::Instance::create();
  s.instance->restore(st.globals, std::move(table), *s.memory, *s.budget, *s.wasi);
  s.budget->bind_counter(s.instance->fuel_counter());
  s.committed = snap;
  s.broken.clear();
  s.buffer_addr = s.buffer_cap = 0;
  return Ok();
}

Result<Snapshot> capture(const SessionState& s) {
  auto image = s.memory->capture();
  if (!image) return image.error();
  auto st = std::make_shared<SnapshotState>();
  st->memory = std::move(*image);
  // Which pages may differ from the engine's base: those of the mapped image
  // that did, and those written since it was mapped. Best effort: without
  // pagemap a delta compares the whole memory.
  if (s.mapped && s.engine->base) {
    const auto& base = s.engine->base->state();
    const bool from_base = s.mapped == base;
    if (from_base || s.mapped->changed_against == base) {
      if (auto written = s.memory->written()) {
        st->changed = from_base ? std::move(*written) : rt::merge(s.mapped->changed, *written);
        st->changed_against = base;
      }
    }
  }
  st->globals = s.instance->capture_globals();
  vfs::NodeMap map;
  auto quota = vfs::unbounded_quota();
  auto tmp = vfs::copy_mem_tree(*s.tmp, quota, map);
  if (!tmp || !copy_detached(s.wasi->fds, quota, map)) {
    return Error(ErrorCode::kResourceExhausted, "copying /tmp for the snapshot failed");
  }
  st->tmp = tmp.value;
  st->fds = map_fds(s.wasi->fds, s.root.get(), nullptr, map);
  return Snapshot(std::move(st));
}

/// Starts the interpreter from scratch in a state from new_state().
Result<void> cold_start(SessionState& s) {
  auto memory = rt::GuestMemory::create(rt::guest_initial_pages(), s.config.limits.memory_bytes);
  if (!memory) return memory.error();
  s.memory = std::move(*memory);
  // A deterministic start (the engine's, with a hash_seed) must not leave the
  // wall clock in memory: CPython stats its working directory, /tmp.
  const Determinism& d = s.config.determinism;
  s.tmp = vfs::make_mem_root(tmp_quota(s.config.limits),
                             d.enabled ? std::optional<uint64_t>(d.start_time_ns) : std::nullopt);
  s.root = make_root(*s.engine, s.tmp, s.mounts);
  s.wasi->memory = s.memory.get();
  s.wasi->init_fds(s.root);
  s.budget->start(0, rt::Budget::Clock::time_point::max(), rt::Budget::Clock::time_point::max());
  s.instance = rt::Instance::create();
  s.budget->bind_counter(s.instance->fuel_counter());
  if (int trap = s.instance->instantiate(*s.memory, *s.budget, *s.wasi, s.stack()); trap != 0) {
    return Error(ErrorCode::kGuest, "instantiating the guest: " + trap_message(trap));
  }
  int32_t status = 0;
  if (int trap = s.instance->init(status, s.stack()); trap != 0 || status != 0) {
    std::string why = trap ? trap_message(trap) : "status " + std::to_string(status);
    return Error(ErrorCode::kGuest, "starting the interpreter failed (" + why + "): " + s.wasi->err.captured);
  }
  s.wasi->out.captured.clear();
  s.wasi->err.captured.clear();
  return Ok();
}

/// Python bytes literal for `data`: the safe way to hand the runner JSON.
std::string py_bytes(std::string_view data) {
  std::string out = "b'";
  for (unsigned char ch : data) {
    if (ch == '\\' || ch == '\'' || ch < 0x20 || ch >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", ch);
      out += buf;
    } else {
      out += static_cast<char>(ch);
    }
  }
  return out + "'";
}

Error vfs_error(const char* op, std::string_view path, vfs::Errno e) {
  switch (e) {
    case vfs::Errno::kNoent: return Error(ErrorCode::kNotFound, std::string(op) + ": no such file: " + std::string(path));
    case vfs::Errno::kNospc:
    case vfs::Errno::kDquot:
    case vfs::Errno::kNametoolong:
      return Error(ErrorCode::kResourceExhausted, std::string(op) + ": /tmp limits reached writing " + std::string(path));
    case vfs::Errno::kIsdir:
    case vfs::Errno::kNotdir:
    case vfs::Errno::kNotempty:
    case vfs::Errno::kExist:
      return Error(ErrorCode::kConflict, std::string(op) + ": " + std::string(path) +
                                             " is in the way of a file or directory of that name");
    default:
      return Error(ErrorCode::kInvalidArgument,
                   std::string(op) + ": " + std::string(path) + " failed (WASI errno " +
                       std::to_string(static_cast<int>(e)) + ")");
  }
}

/// The directory and name `path` (under /tmp, absolute or relative) names;
/// `create_dirs` makes missing directories on the way.
Result<std::pair<std::shared_ptr<vfs::Node>, std::string>> tmp_path(const std::shared_ptr<vfs::Node>& tmp,
                                                                     std::string_view path, bool create_dirs) {
  std::string_view rest = path;
  if (rest.starts_with("/tmp/")) {
    rest.remove_prefix(5);
  } else if (rest.starts_with("/")) {
    return Error(ErrorCode::kInvalidArgument, "only files under /tmp can be put or got: " + std::string(path));
  }
  const std::vector<std::string> parts = vfs::split_path(rest);
  for (const std::string& part : parts) {
    if (part.empty() || part == "." || part == ".." || part.find('\0') != std::string::npos) {
      return Error(ErrorCode::kInvalidArgument, "bad path under /tmp: " + std::string(path));
    }
  }
  std::shared_ptr<vfs::Node> dir = tmp;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    auto next = dir->lookup(parts[i]);
    if (!next && next.err == vfs::Errno::kNoent && create_dirs) next = dir->create(parts[i], vfs::Kind::kDirectory);
    if (!next) return vfs_error(create_dirs ? "put_file" : "get_file", path, next.err);
    if (next.value->kind() != vfs::Kind::kDirectory) {
      return Error(ErrorCode::kConflict, "not a directory on the way to " + std::string(path));
    }
    dir = next.value;
  }
  return std::pair{dir, parts.back()};
}

/// Runs pycell's own code in the session (not a user cell): its failure is a
/// host error, and a value comes back as JSON.
Result<ExecResult> run_internal(Session& session, const std::string& code, bool want_value) {
  ExecOptions o;
  o.filename = "<pycell>";
  o.want_json = want_value;
  if (!want_value) o.mode = ExecOptions::Mode::kScript;
  return session.exec(code, o);
}

/// Fuel pycell's own set-up run gets at least, whatever limits.fuel says
/// (about 25 ms of CPU on a 2026 x86-64 core): a budget that fits the
/// client's runs must not make the session impossible to create, and it stays
/// bounded because a snapshot's guest may have replaced the code the set-up
/// calls.
constexpr uint64_t kSetupFuel = 10'000'000;

/// Re-seeds the generators a preload seeded in the engine's snapshot (see
/// EngineState::reseed) from this session's randomness (random_get: the
/// CSPRNG, or the seeded stream of a deterministic session). Binds no name.
constexpr const char* kReseed =
    "(lambda m: [m[n].seed() for n in ('random', 'numpy.random') if n in m])(__import__('sys').modules)\n";

/// Applies the grants that live in Python state (see _pycell.configure): the
/// environment (for sessions started from a snapshot), package mounts on
/// sys.path, host functions as globals, urllib through the host; and re-seeds
/// if `reseed`. `config` is the session's own (exec reads its limits).
Result<void> configure(Session& session, SessionConfig& config, bool set_env, bool reseed) {
  nlohmann::json settings = nlohmann::json::object();
  if (set_env && !config.env.empty()) settings["env"] = config.env;
  std::vector<std::string> paths;
  for (const Mount& m : config.mounts) {
    if (m.package_path) paths.push_back(m.guest_path);
  }
  if (!paths.empty()) settings["sys_path"] = paths;
  if (config.functions_as_globals && !config.functions.empty()) {
    settings["globals"] = true;
    settings["protect"] = config.protect_functions;
  }
  if (config.http) settings["http"] = true;
  if (settings.empty() && !reseed) return Ok();
  std::string code = reseed ? kReseed : "";
  if (!settings.empty()) code += "__import__('_pycell').configure(" + py_bytes(settings.dump()) + ")";
  const uint64_t fuel = config.limits.fuel;
  if (fuel != 0 && fuel < kSetupFuel) config.limits.fuel = kSetupFuel;
  auto r = run_internal(session, code, false);
  config.limits.fuel = fuel;
  if (!r) return r.error();
  if (r->exit_reason == ExitReason::kFuel || r->exit_reason == ExitReason::kTimeout ||
      r->exit_reason == ExitReason::kMemory) {
    // The set-up runs under the session's own limits: too low a limit is the
    // configuration's fault (a client's, on a server), not an internal error.
    return Error(ErrorCode::kInvalidArgument,
                 "the session's limits are too low for its own set-up (env, mounts, host functions, HTTP): "
                 "it stopped with exit reason " + std::string(to_string(r->exit_reason)));
  }
  if (r->exit_reason != ExitReason::kOk) {
    return Error(ErrorCode::kGuest, "configuring the session failed: " + r->stderr_text);
  }
  return Ok();
}

}  // namespace

Session::Session(std::unique_ptr<SessionState> s) : state_(std::move(s)) {}
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;
Session::~Session() = default;

Result<Session> SessionAccess::create_cold(std::shared_ptr<const EngineState> engine, SessionConfig config) {
  auto s = new_state(std::move(engine), std::move(config));
  if (!s) return s.error();
  if (auto r = cold_start(**s); !r) return r.error();
  return Session(std::move(*s));
}

std::shared_ptr<const rt::TableTemplate> SessionAccess::table(const Session& s) {
  return s.state_->instance->capture_table();
}

Result<void> SessionAccess::clear_dead_stack(Session& s) {
  const uint32_t sp = s.state_->instance->stack_pointer();
  auto dead = s.state_->memory->span(0, sp);
  if (!dead) return dead.error();
  s.state_->memory->zero(*dead);
  return Ok();
}

Result<rt::HotPages> SessionAccess::residency(const Session& s) { return s.state_->memory->residency(); }

wasi::Context& SessionAccess::wasi_context(Session& s) { return *s.state_->wasi; }

Result<void> SessionAccess::freeze(Session& s) {
  int32_t status = 0;
  if (int trap = s.state_->instance->freeze(status, s.state_->stack()); trap != 0 || status != 0) {
    return Error(ErrorCode::kGuest, "freezing the interpreter's objects failed" +
                                        (trap ? ": " + trap_message(trap) : std::string()));
  }
  return Ok();
}

Result<Session> Session::create(const Engine& engine, SessionConfig config) {
  if (engine.state()->base) return create(engine, *engine.state()->base, std::move(config));
  auto session = SessionAccess::create_cold(engine.state(), std::move(config));
  if (!session) return session.error();
  // A cold start read the environment through WASI already, and seeds itself.
  if (auto r = configure(*session, session->state_->config, false, false); !r) return r.error();
  return session;
}

Result<Session> Session::create(const Engine& engine, const Snapshot& snapshot, SessionConfig config) {
  auto s = new_state(engine.state(), std::move(config));
  if (!s) return s.error();
  if (auto r = load(**s, snapshot); !r) return r.error();
  Session session(std::move(*s));
  // The snapshot's os.environ is its maker's: give this session its own. A
  // user's snapshot keeps its generators' state, as any other state.
  const EngineState& e = *engine.state();
  SessionState& st = *session.state_;
  st.reseed = e.reseed && e.base && e.base->state() == snapshot.state();
  if (auto r = configure(session, st.config, true, st.reseed); !r) return r.error();
  st.setup_after_rollback = true;
  return session;
}

Result<Snapshot> Session::snapshot() {
  if (auto idle = check_idle(*state_, "snapshot"); !idle) return idle.error();
  if (!state_->broken.empty()) return Error(ErrorCode::kUnavailable, "session unusable: " + state_->broken);
  auto snap = capture(*state_);
  if (!snap) return snap.error();
  state_->committed = *snap;
  state_->setup_after_rollback = state_->setup_pending = false;  // the set-up's effects are in it
  return snap;
}

Result<void> Session::restore(const Snapshot& snapshot) {
  if (auto idle = check_idle(*state_, "restore"); !idle) return idle.error();
  if (auto r = load(*state_, snapshot); !r) return r;
  state_->setup_after_rollback = state_->setup_pending = false;  // the whole state is the snapshot's
  return Ok();
}

Result<Session> Session::fork() {
  if (auto idle = check_idle(*state_, "fork"); !idle) return idle.error();
  if (!state_->broken.empty()) return Error(ErrorCode::kUnavailable, "session unusable: " + state_->broken);
  auto snap = capture(*state_);
  if (!snap) return snap.error();
  auto s = new_state(state_->engine, state_->config, state_->functions);
  if (!s) return s.error();
  if (auto r = load(**s, *snap, state_->instance.get()); !r) return r.error();
  return Session(std::move(*s));
}

void Session::cancel() { state_->budget->cancel(); }
void Session::discard_cancel() { state_->budget->discard_cancel(); }

Result<ExecResult> Session::run_once(const Engine& engine, std::string_view code, const ExecOptions& options,
                                     SessionConfig config) {
  auto s = create(engine, std::move(config));
  if (!s) return s.error();
  return s->exec(code, options);
}

Result<ExecResult> Session::exec(std::string_view code, const ExecOptions& options) {
  SessionState& s = *state_;
  if (auto idle = check_idle(s, "exec"); !idle) return idle.error();
  if (!s.broken.empty()) return Error(ErrorCode::kUnavailable, "session unusable: " + s.broken);
  if (s.setup_pending) {
    s.setup_pending = false;  // the set-up's own run must not start it again
    if (auto r = configure(*this, s.config, true, s.reseed); !r) {
      s.setup_pending = true;  // still owed to the next run
      return r.error();
    }
  }
  s.running = true;
  struct EndRun {
    SessionState& s;
    ~EndRun() {
      s.running = false;
      s.budget->finish();
    }
  } end_run{s};
  const auto started = std::chrono::steady_clock::now();
  const Limits& limits = s.config.limits;
  {
    using std::chrono::milliseconds;
    auto soft = rt::Budget::Clock::time_point::max(), hard = soft;
    if (limits.timeout_ms) {
      soft = started + milliseconds(limits.timeout_ms);
      hard = soft + milliseconds(limits.grace_ms);
    }
    s.budget->start(limits.fuel, soft, hard);
    s.instance->set_fuel(0);  // the first loop header asks for a slice
  }

  wasi::Context& w = *s.wasi;
  w.out.captured.clear();
  w.err.captured.clear();
  w.out.truncated = w.err.truncated = false;
  w.out.dropped = w.err.dropped = 0;
  std::exception_ptr output_failure;
  if (options.on_output) {
    auto stream_to = [&](Stream which) {
      return [&, which](std::string_view b) {
        OutputCall call{&options, which, b, &output_failure, s.budget.get()};
        rt::run_on_host_stack(&OutputCall::run, &call);
      };
    };
    w.out.stream = stream_to(Stream::kStdout);
    w.err.stream = stream_to(Stream::kStderr);
  }
  struct ClearStreams {
    wasi::Context& w;
    ~ClearStreams() {
      w.out.stream = nullptr;
      w.err.stream = nullptr;
    }
  } clear_streams{w};

  const std::string meta = encode_exec_meta(options);
  const uint64_t need = uint64_t{code.size()} + meta.size();
  if (need > rt::kMaxGuestBytes) return Error(ErrorCode::kInvalidArgument, "code too large");
  uint32_t view = 0;
  int trap = 0;
  const uint64_t refused_before = s.memory->refused_grows();
  if (need > s.buffer_cap || s.buffer_addr == 0) {
    trap = s.instance->buffer(static_cast<uint32_t>(std::max<uint64_t>(need, 4096)), s.buffer_addr, s.stack());
    s.buffer_cap = s.buffer_addr ? static_cast<uint32_t>(std::max<uint64_t>(need, 4096)) : 0;
    if (!trap && !s.buffer_addr) {
      return Error(ErrorCode::kResourceExhausted, "guest memory exhausted before the code could be passed in");
    }
  }
  if (!trap) {
    if (!s.memory->store_bytes(s.buffer_addr, code.data(), code.size()) ||
        !s.memory->store_bytes(s.buffer_addr + static_cast<uint32_t>(code.size()), meta.data(), meta.size())) {
      return Error(ErrorCode::kGuest, "guest returned an invalid request buffer");
    }
    const uint32_t flags = (options.mode == ExecOptions::Mode::kScript ? kFlagScript : 0) |
                           (options.want_json ? kFlagWantJson : 0) | (options.run_atexit ? kFlagRunAtexit : 0);
    trap = s.instance->exec(static_cast<uint32_t>(code.size()), static_cast<uint32_t>(meta.size()), flags, view,
                            s.stack());
  }

  ExecResult r;
  r.fuel_used = s.budget->used(s.instance->fuel());
  r.peak_memory = s.memory->peak();
  bool unknown_state = false;
  if (trap == 0) {
    auto decoded = decode_guest_result(*s.memory, view, limits.output_bytes, r);
    if (!decoded) return decoded.error();
    if (r.exit_reason == ExitReason::kException && r.error) {
      // Name the limit behind the exception; the session keeps its state.
      if (r.error->type == "TimeoutError" && s.budget->soft_stop_sent()) r.exit_reason = ExitReason::kTimeout;
    }
  } else if (trap == static_cast<int>(rt::TrapCode::kHostExit)) {
    r.exit_reason = ExitReason::kExit;
    r.exit_code = static_cast<int>(w.exit_code.value_or(1));
    unknown_state = true;  // the interpreter was abandoned mid-flight
  } else if (trap == static_cast<int>(rt::TrapCode::kStopped)) {
    switch (s.budget->stop()) {
      case rt::Budget::Stop::kFuel: r.exit_reason = ExitReason::kFuel; break;
      case rt::Budget::Stop::kTimeout: r.exit_reason = ExitReason::kTimeout; break;
      case rt::Budget::Stop::kOutput: r.exit_reason = ExitReason::kOutputLimit; break;
      case rt::Budget::Stop::kCancelled:
      case rt::Budget::Stop::kNone: r.exit_reason = ExitReason::kCancelled; break;
    }
    r.exit_code = 1;
    unknown_state = true;
  } else if (rt::to_trap_kind(trap) == TrapKind::kUnreachable && s.memory->refused_grows() > refused_before) {
    // The guest aborted after being refused memory: code that cannot report
    // an allocation failure, e.g. a C++ std::bad_alloc, which nothing in the
    // guest can catch (guest/shim/cxx_throw.c), or CPython's fatal "out of memory".
    r.exit_reason = ExitReason::kMemory;
    r.exit_code = 1;
    unknown_state = true;
  } else {
    r.exit_reason = ExitReason::kTrap;
    r.trap = rt::to_trap_kind(trap);
    r.exit_code = 1;
    unknown_state = true;
  }
  r.stdout_text = std::move(w.out.captured);
  r.stderr_text = std::move(w.err.captured);
  r.stdout_truncated = w.out.truncated;
  r.stderr_truncated = w.err.truncated;
  const std::string marker = "\n[pycell: output truncated at " + std::to_string(limits.output_bytes) + " bytes]\n";
  if (r.stdout_truncated) r.stdout_text += marker;
  if (r.stderr_truncated) r.stderr_text += marker;

  if (unknown_state) {
    if (s.committed) {
      if (auto rb = load(s, *s.committed); rb) {
        r.rolled_back = true;
        s.setup_pending = s.setup_after_rollback;
      } else {
        s.broken = "rollback failed: " + rb.error().message();
      }
    } else {
      s.broken = "the run ended in an unknown state (" + std::string(to_string(r.exit_reason)) +
                 ") and there is no committed snapshot";
    }
  }
  if (w.deterministic) w.deterministic->fuel_before += r.fuel_used;
  r.wall_time = std::chrono::steady_clock::now() - started;
  if (output_failure) std::rethrow_exception(output_failure);
  return r;
}

Result<void> Session::set_variables(std::string_view json_object, bool protect) {
  if (auto idle = check_idle(*state_, "set_variables"); !idle) return idle.error();
  std::string why;
  const auto values = parse_json(json_object, &why);
  if (!values && nlohmann::json::accept(json_object)) {  // valid, but deeper than anything may copy or dump
    return Error(ErrorCode::kInvalidArgument, "set_variables: the JSON is " + why);
  }
  if (!values || !values->is_object()) {
    return Error(ErrorCode::kInvalidArgument, "set_variables: expected a JSON object of name -> value");
  }
  for (const auto& [name, value] : values->items()) {
    if (!is_python_identifier(name)) {
      return Error(ErrorCode::kInvalidArgument, "set_variables: '" + name + "' is not a Python identifier");
    }
  }
  auto r = run_internal(*this,
                        "__import__('_pycell').set_vars(" + py_bytes(values->dump()) + ", " +
                            (protect ? "True" : "False") + ")",
                        false);
  if (!r) return r.error();
  if (r->exit_reason != ExitReason::kOk) return Error(ErrorCode::kGuest, "set_variables failed: " + r->stderr_text);
  return Ok();
}

Result<std::string> Session::get_variable(std::string_view name) {
  if (auto idle = check_idle(*state_, "get_variable"); !idle) return idle.error();
  if (!is_python_identifier(name)) {
    return Error(ErrorCode::kInvalidArgument, "get_variable: '" + std::string(name) + "' is not a Python identifier");
  }
  auto r = run_internal(*this, "__import__('_pycell').get_var('" + std::string(name) + "')", true);
  if (!r) return r.error();
  if (r->exit_reason == ExitReason::kException && r->error && r->error->type == "NameError") {
    return Error(ErrorCode::kNotFound, "no variable '" + std::string(name) + "' in the session");
  }
  if (r->exit_reason != ExitReason::kOk) return Error(ErrorCode::kGuest, "get_variable failed: " + r->stderr_text);
  if (r->value_json) return std::move(*r->value_json);
  if (!r->value_repr) return std::string("null");  // the value is None
  return Error(ErrorCode::kInvalidArgument,
               "variable '" + std::string(name) + "' is not JSON-serializable: " + *r->value_repr);
}

Result<void> Session::put_file(std::string_view path, std::string_view data) {
  auto where = tmp_path(state_->tmp, path, true);
  if (!where) return where.error();
  auto& [dir, name] = *where;
  // Written beside the target and renamed over it: a file that does not fit
  // leaves the old one as it was.
  const std::string staging = "." + name + ".pycell-put";
  (void)dir->remove(staging, vfs::Kind::kFile);
  auto file = dir->create(staging, vfs::Kind::kFile);
  if (!file) return vfs_error("put_file", path, file.err);
  auto wrote = file.value->pwrite(0, {reinterpret_cast<const uint8_t*>(data.data()), data.size()});
  vfs::Errno e = wrote ? dir->rename(staging, *dir, name) : wrote.err;
  if (e != vfs::Errno::kSuccess) {
    (void)dir->remove(staging, vfs::Kind::kFile);
    return vfs_error("put_file", path, e);
  }
  return Ok();
}

Result<std::string> Session::get_file(std::string_view path) {
  auto where = tmp_path(state_->tmp, path, false);
  if (!where) return where.error();
  auto& [dir, name] = *where;
  auto node = dir->lookup(name);
  if (!node) return vfs_error("get_file", path, node.err);
  if (node.value->kind() != vfs::Kind::kFile) {
    return Error(ErrorCode::kConflict, "get_file: " + std::string(path) + " is a directory");
  }
  std::string data(node.value->stat().size, '\0');
  auto got = node.value->pread(0, {reinterpret_cast<uint8_t*>(data.data()), data.size()});
  if (!got) return vfs_error("get_file", path, got.err);
  data.resize(got.value);
  return data;
}

namespace {

/// Removes `name` from `dir`, a directory with its contents first. The
/// recursion is bounded by limits.tmp_depth, as /tmp's nesting is.
vfs::Errno remove_tree(vfs::Node& dir, const std::string& name) {
  auto node = dir.lookup(name);
  if (!node) return node.err;
  const vfs::Kind kind = node.value->kind();
  if (kind == vfs::Kind::kDirectory) {
    auto entries = node.value->list();
    if (!entries) return entries.err;
    for (const auto& e : entries.value) {
      if (vfs::Errno err = remove_tree(*node.value, e.name); err != vfs::Errno::kSuccess) return err;
    }
  }
  return dir.remove(name, kind);
}

}  // namespace

Result<std::vector<FileInfo>> Session::list_files() {
  std::vector<FileInfo> out;
  // Depth first without recursion; /tmp's quota bounds the entries.
  std::vector<std::pair<std::shared_ptr<vfs::Node>, std::string>> todo{{state_->tmp, "/tmp"}};
  while (!todo.empty()) {
    auto [dir, prefix] = std::move(todo.back());
    todo.pop_back();
    auto entries = dir->list();
    if (!entries) return vfs_error("list_files", prefix, entries.err);
    for (const auto& e : entries.value) {
      auto node = dir->lookup(e.name);
      if (!node) continue;
      FileInfo info{prefix + "/" + e.name, node.value->kind() == vfs::Kind::kDirectory, 0};
      if (info.directory) {
        todo.emplace_back(node.value, info.path);
      } else {
        info.bytes = node.value->stat().size;
      }
      out.push_back(std::move(info));
    }
  }
  std::sort(out.begin(), out.end(), [](const FileInfo& a, const FileInfo& b) { return a.path < b.path; });
  return out;
}

Result<void> Session::remove_file(std::string_view path) {
  auto where = tmp_path(state_->tmp, path, false);
  if (!where) return where.error();
  auto& [dir, name] = *where;
  if (vfs::Errno e = remove_tree(*dir, name); e != vfs::Errno::kSuccess) return vfs_error("remove_file", path, e);
  return Ok();
}

}  // namespace pycell
