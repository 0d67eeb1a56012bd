// In-memory writable filesystem: the session's private /tmp, bounded by a quota.
#pragma once

#include <cstdint>
#include <memory>

#include "vfs/vfs.h"

namespace pycell::vfs {

/// Bounds on one in-memory filesystem. Exceeding bytes gives ENOSPC, files EDQUOT,
/// directory nesting ENAMETOOLONG (which also bounds host recursion over the tree).
struct MemQuota {
  uint64_t max_bytes = 0;
  uint64_t max_files = 0;
  uint32_t max_depth = 0;
  uint64_t used_bytes = 0;
  uint64_t files = 0;
};

/// A new empty directory whose whole subtree charges `quota`.
std::shared_ptr<Node> make_mem_root(std::shared_ptr<MemQuota> quota);

}  // namespace pycell::vfs
