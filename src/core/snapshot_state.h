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
};

}  // namespace pycell
