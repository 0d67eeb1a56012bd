// In-memory writable filesystem: the session's private /tmp, bounded by a quota.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

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

/// A quota that never refuses: for snapshot copies, already bounded by their source.
std::shared_ptr<MemQuota> unbounded_quota();

/// A new empty directory whose whole subtree charges `quota`, with its times
/// at `time_ns` if given (a deterministic session's clock), else now.
std::shared_ptr<Node> make_mem_root(std::shared_ptr<MemQuota> quota, std::optional<uint64_t> time_ns = std::nullopt);

/// Old node -> its copy, filled by copy_mem_tree (hard links stay links).
using NodeMap = std::map<const Node*, std::shared_ptr<Node>>;

/// Deep-copies an in-memory tree (made by make_mem_root) into `quota`.
/// Errors: ENOSPC/EDQUOT/ENAMETOOLONG if it does not fit the quota.
Res<std::shared_ptr<Node>> copy_mem_tree(const Node& root, std::shared_ptr<MemQuota> quota, NodeMap& map);

/// Copies `node`, held open by a guest fd, if it is an in-memory node that
/// copy_mem_tree did not reach with `map`: a file or directory removed while
/// open. Each such node is copied once (its copy is added to `map`), so a
/// fork or a snapshot never shares one with its source. Returns the node's
/// copy (the one already in `map` if it was reached), or null if `node` is not
/// in-memory (the stdlib image, a static directory, a host mount).
/// Errors: ENOSPC if its bytes do not fit `quota`.
Res<std::shared_ptr<Node>> copy_detached(const Node& node, const std::shared_ptr<MemQuota>& quota, NodeMap& map);

/// One node of an in-memory tree, in a flat pre-order listing (for serialization).
struct MemEntry {
  std::string path;      // relative to the root, '/'-separated; "" for the root
  Kind kind;
  uint64_t atime_ns, mtime_ns;
  std::string data;      // files
  uint64_t link_of = 0;  // files: 1-based index of an earlier entry this is a hard link to
  std::shared_ptr<Node> node;  // the node listed (not serialized)
};
std::vector<MemEntry> list_mem_tree(const Node& root);
/// Rebuilds a tree from list_mem_tree's output into `quota`.
Res<std::shared_ptr<Node>> build_mem_tree(const std::vector<MemEntry>& entries, std::shared_ptr<MemQuota> quota);

}  // namespace pycell::vfs
