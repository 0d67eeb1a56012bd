// Engine: locates and maps the stdlib image(s) once for all sessions.
#include "pycell/engine.h"

#include <openssl/rand.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string_view>

#include "core/engine_state.h"
#include "core/session_access.h"
#include "pycell/session.h"
#include "rt/instance.h"
#include "vfs/image_fs.h"

namespace pycell {
namespace {

constexpr const char* kImageName = "pycell-stdlib.tar";
constexpr const char* kPackagesImageName = "pycell-packages.tar";
constexpr size_t kMinSnapshotKeyBytes = 32;  // HMAC-SHA256's strength; shorter keys are guessable
constexpr const char* kSeededModulesImported = "any(m in __import__('sys').modules for m in ('random', 'numpy.random'))";

Result<std::string> find_stdlib_image() {
  // The embedder's environment (not the guest's) may point at the image.
  if (const char* env = std::getenv("PYCELL_STDLIB"); env && *env) return std::string(env);
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (const auto& candidate : {exe.parent_path() / kImageName,
                                  exe.parent_path().parent_path() / "share" / "pycell" / kImageName}) {
      if (std::filesystem::exists(candidate, ec)) return candidate.string();
    }
  }
  return Error(ErrorCode::kNotFound,
               std::string("stdlib image not found: set PYCELL_STDLIB or install ") + kImageName +
                   " beside the executable or in ../share/pycell/");
}

/// A preload entry is pasted into guest code, so it must be a dotted module
/// name (ASCII identifiers; Python's import accepts others, no preload needs them).
bool is_module_name(std::string_view name) {
  bool at_start = true;
  for (char ch : name) {
    if (ch == '.') {
      if (at_start) return false;
      at_start = true;
      continue;
    }
    const bool letter = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
    if (!letter && !(ch >= '0' && ch <= '9' && !at_start)) return false;
    at_start = false;
  }
  return !at_start;
}

}  // namespace

Result<Engine> Engine::create(EngineConfig config) {
  for (const auto& m : config.preload) {
    if (!is_module_name(m)) {
      return Error(ErrorCode::kInvalidArgument, "preload: '" + m.substr(0, 80) + "' is not a module name");
    }
  }
  std::string key;
  if (config.snapshot_key) {
    if (config.snapshot_key->size() < kMinSnapshotKeyBytes) {
      return Error(ErrorCode::kInvalidArgument, "snapshot_key must be at least " +
                                                    std::to_string(kMinSnapshotKeyBytes) + " bytes, got " +
                                                    std::to_string(config.snapshot_key->size()));
    }
    key = std::move(*config.snapshot_key);
  } else {
    key.resize(kMinSnapshotKeyBytes);
    if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), static_cast<int>(key.size())) != 1) {
      return Error(ErrorCode::kResourceExhausted, "no randomness for the snapshot key (RAND_bytes failed)");
    }
  }
  std::vector<std::string> images;
  if (config.stdlib_image.empty()) {
    auto found = find_stdlib_image();
    if (!found) return found.error();
    images.push_back(*found);
  } else {
    images.push_back(std::move(config.stdlib_image));
  }
  // The guest packages' pure-Python parts (numpy, ...) ship beside the stdlib
  // image: their extension modules are in the guest itself.
  {
    std::error_code ec;
    auto packages = std::filesystem::path(images.front()).parent_path() / kPackagesImageName;
    if (std::filesystem::exists(packages, ec)) images.push_back(packages.string());
  }
  for (auto& extra : config.extra_images) images.push_back(std::move(extra));
  auto tree = vfs::load_images(images);
  if (!tree) return tree.error();
  auto state = std::make_shared<EngineState>();
  state->stdlib = *tree;
  state->snapshot_key = std::move(key);

  if (config.preinit) {
    // One cold start: its function table is every instance's template, and
    // its state after the preloads is where every session begins.
    SessionConfig cold_config;
    cold_config.limits.timeout_ms = 0;
    if (config.hash_seed) {
      cold_config.determinism.enabled = true;  // CPython draws its secret from random_get
      cold_config.determinism.seed = *config.hash_seed;
    }
    auto cold = SessionAccess::create_cold(state, cold_config);
    if (!cold) return cold.error();
    state->table = SessionAccess::table(*cold);
    // Cell mode (script mode would leave __file__ behind in __main__), named so
    // that user cells still start at <cell-1>.
    ExecOptions cell;
    cell.filename = "<pycell-preload>";
    cell.want_json = true;
    // One module per run, so that a failure names the module.
    for (const auto& m : config.preload) {
      auto r = cold->exec("__import__('" + m + "')", cell);  // binds no name
      if (!r) return r.error();
      if (r->exit_reason != ExitReason::kOk) {
        const std::string why = r->error ? r->error->type + ": " + r->error->message
                                         : std::string(to_string(r->exit_reason)) + "\n" + r->stderr_text;
        return Error(ErrorCode::kInvalidArgument, "preload: cannot import '" + m + "': " + why);
      }
    }
    // Generators seeded at import (random's, numpy.random's legacy global
    // one) would replay the same sequence in every session: sessions started
    // from the snapshot re-seed them (Session::create).
    {
      auto r = cold->exec(kSeededModulesImported, cell);
      if (!r) return r.error();
      state->reseed = r->value_repr == "True";
    }
    // After the imports, the paths every exec takes (compile a cell, report a
    // value, JSON it), so their lazily built state is in the shared image
    // rather than written into each session; then freeze everything so the
    // cycle collector never walks (and dirties) the shared objects.
    const char* steps[] = {
        "1+1", "x = [1]\nx",
        "del x\n__import__('linecache').clearcache()\ngc = __import__('gc')\ngc.collect()\ngc.freeze()\ndel gc"};
    for (const char* code : steps) {
      auto r = cold->exec(code, cell);
      if (!r) return r.error();
      if (r->exit_reason != ExitReason::kOk) {
        return Error(ErrorCode::kGuest, "preparing the pre-initialized snapshot failed: " + r->stderr_text);
      }
    }
    // Immortal objects take no refcount writes: a session copies only the
    // pages it really changes (measured: ~850 -> far fewer pages per exec).
    if (auto f = SessionAccess::freeze(*cold); !f) return f.error();
    if (auto c = SessionAccess::clear_dead_stack(*cold); !c) return c.error();
    auto snap = cold->snapshot();
    if (!snap) return snap.error();
    state->base = std::move(*snap);
    // Learn which pages a first exec reads and writes, so that sessions can
    // map them in a few batched calls instead of ~1000 single faults. Best
    // effort: without /proc/self/pagemap sessions just fault as they go.
    auto probe = Session::create(Engine(state), {});
    if (!probe) return probe.error();
    if (auto r = probe->exec("1+1"); !r) return r.error();
    if (auto hot = SessionAccess::residency(*probe)) state->hot = std::move(*hot);
  }
  return Engine(std::move(state));
}

const char* Engine::python_version() { return rt::guest_python_version(); }

}  // namespace pycell
