// EngineState: what every session of one Engine shares (read-only after creation).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "pycell/snapshot.h"
#include "rt/guest_memory.h"
#include "rt/instance.h"
#include "vfs/vfs.h"

namespace pycell {

struct EngineState {
  /// The merged read-only stdlib tree, mounted at /usr/local/lib/python3.13.
  std::shared_ptr<vfs::Node> stdlib;
  /// The function table every instance starts with (from the first instance).
  std::shared_ptr<const rt::TableTemplate> table;
  /// The pre-initialized interpreter sessions start from, if built.
  std::optional<Snapshot> base;
  /// Pages of `base` a first exec touches and writes: prefaulted in batch.
  rt::HotPages hot;
  /// HMAC key of serialized snapshots (EngineConfig::snapshot_key or random).
  std::string snapshot_key;
  /// `base` holds seeded random generators (a preload imported random or
  /// numpy.random): each session started from it re-seeds them.
  bool reseed = false;
  /// SHA-256 of `base`'s memory: what format-03 snapshots (deltas against it)
  /// name as their base. Computed on first use (snapshot.cc).
  mutable std::once_flag base_id_once;
  mutable std::array<uint8_t, 32> base_id{};
  mutable bool base_id_ok = false;
};

}  // namespace pycell
