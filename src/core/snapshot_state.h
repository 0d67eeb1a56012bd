// SnapshotState: what a Snapshot holds (memory image, globals, /tmp, fds).
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "rt/guest_memory.h"
#include "rt/instance.h"
#include "vfs/vfs.h"
#include "wasi/context.h"

namespace pycell {

struct SnapshotState {
  std::shared_ptr<const rt::MemoryImage> memory;
  rt::InstanceGlobals globals;
  /// A private copy of /tmp, never given to a guest (sessions get copies).
  std::shared_ptr<vfs::Node> tmp;
  /// The fd table; nodes inside /tmp point into `tmp`, the root fd's node is null.
  std::vector<std::optional<wasi::FdEntry>> fds;
  /// The 4 KiB pages of `memory` that may differ from `changed_against`'s
  /// memory (an engine's base); every other page equals it. Lets a delta
  /// (Snapshot::serialize_delta) compare a few hundred pages instead of the
  /// whole memory. Null: unknown, compare everything.
  std::shared_ptr<const SnapshotState> changed_against;
  rt::PageRuns changed;
};

}  // namespace pycell
