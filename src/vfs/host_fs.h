// Host directory filesystem: the nodes behind a Mount. Every host access
// resolves beneath the mount's directory with openat2(RESOLVE_BENEATH |
// RESOLVE_NO_MAGICLINKS), so no path, symlink or race can lead outside it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "pycell/error.h"
#include "vfs/fd_budget.h"
#include "vfs/vfs.h"

namespace pycell::vfs {

/// Bytes one session may still write through its read-write mounts (shared
/// by all of them). Past it a write fails whole with EDQUOT.
struct WriteQuota {
  uint64_t max_bytes = 0;
  uint64_t used_bytes = 0;
};

/// Creating a file, directory or hard link in a mount charges this much to
/// the WriteQuota (an inode and a directory entry take at least a block):
/// otherwise empty files could exhaust the host's inodes for free.
inline constexpr uint64_t kMountEntryCost = 4096;

/// Names of the private temporary files writes go to (see HostWriter in
/// host_fs.cc). The guest never sees them and cannot create one.
inline constexpr std::string_view kMountTempPrefix = ".pycell-tmp-";

/// Opens the host directory `host_path` as a mount root: the one use of the
/// host's ambient authority for mounts (the path is the embedder's, not the
/// guest's). `quota` is charged by writes (read-write mounts only); `fds`
/// leases the host descriptors of open files (one per reader, two per
/// writer): past it, or past the process's budget, opening a file fails with
/// EMFILE or ENFILE.
/// Errors: kNotFound (missing, or not a directory), kIo (any other refusal).
Result<std::shared_ptr<Node>> open_host_dir(const std::string& host_path, bool writable,
                                            std::shared_ptr<WriteQuota> quota, std::shared_ptr<FdBudget> fds);

/// Whether `node` is a host directory's node or an open file of one.
bool is_host_node(const Node& node);

}  // namespace pycell::vfs
