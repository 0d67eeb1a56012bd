// Engine: the shared, immutable part of pycell (compiled guest, stdlib image).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pycell/error.h"

namespace pycell {

/// How to build an Engine. Consumed by Engine::create.
struct EngineConfig {
  /// The stdlib image. Empty: $PYCELL_STDLIB, else pycell-stdlib.tar beside the
  /// executable, else ../share/pycell/pycell-stdlib.tar relative to it.
  /// pycell-packages.tar (the guest packages' pure-Python parts, e.g. numpy),
  /// when it lies in the same directory, is overlaid on it.
  std::string stdlib_image;
  /// Further read-only images overlaid on the stdlib directory (e.g. CPython's
  /// test package for the compatibility suite). Later entries win.
  std::vector<std::string> extra_images;
  /// Start one interpreter now, import `preload`, and snapshot it, so every
  /// session starts from that snapshot instead of a CPython start-up.
  bool preinit = true;
  /// Fixes the string-hash secret of the pre-initialized snapshot (as
  /// PYTHONHASHSEED would), so that deterministic sessions (Determinism)
  /// iterate sets of strings in the same order in every process. Unset: a
  /// random secret per Engine, shared by its sessions.
  std::optional<uint64_t> hash_seed;
  /// Secret key of the HMAC-SHA256 that seals serialized snapshots
  /// (Snapshot::serialize/deserialize): Engines given the same key load each
  /// other's snapshots, and bytes made without it are refused. At least 32
  /// bytes, from a cryptographic random source; share it only with parties
  /// whose snapshots you would run (see docs/capabilities.md). Unset: a random
  /// key per Engine, so its snapshots load only in that Engine (this process).
  std::optional<std::string> snapshot_key;
  /// Modules (dotted names) imported into the pre-initialized snapshot, in
  /// order: imports are then free in every session. Used only with preinit.
  /// Generators seeded at import (random's, numpy.random's global one: pulled
  /// in by statistics, tempfile, secrets, pandas) are re-seeded in each
  /// session started from the snapshot, which costs it ~0.2 ms (random) to
  /// ~0.8 ms (numpy.random); the defaults import neither.
  std::vector<std::string> preload = {"json", "re", "collections", "datetime", "math", "itertools",
                                      "functools", "dataclasses", "typing", "textwrap", "string", "decimal",
                                      "fractions", "base64", "hashlib", "csv", "io", "enum",
                                      "traceback", "pathlib", "heapq", "bisect", "copy", "operator"};
};

struct EngineState;  // opaque

/// Created once per process and shared by every Session. Thread-safe and
/// immutable after creation; copying an Engine shares the same state.
class Engine {
 public:
  /// Loads the images and (by default) builds the pre-initialized snapshot.
  /// Errors: kNotFound (no image), kCorrupt (bad image), kGuest (start-up
  /// failed), kInvalidArgument (a snapshot_key shorter than 32 bytes; a
  /// preload that is not a module name or cannot be imported: the message
  /// names it).
  static Result<Engine> create(EngineConfig config);

  /// CPython version string of the guest, e.g. "3.13.5".
  static const char* python_version();

  const std::shared_ptr<const EngineState>& state() const { return state_; }

 private:
  explicit Engine(std::shared_ptr<const EngineState> s) : state_(std::move(s)) {}
  std::shared_ptr<const EngineState> state_;
};

}  // namespace pycell
