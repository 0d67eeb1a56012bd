// The guest's filesystem tree: the stdlib image, the private /tmp and the
// host directories a session was granted (Mount), assembled under "/".
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "pycell/capabilities.h"
#include "pycell/error.h"
#include "pycell/limits.h"
#include "vfs/vfs.h"

namespace pycell {

struct EngineState;

/// A session's opened mounts: each guest path with the root node of its host
/// directory. Opened once per session (create, fork) and kept across rollbacks.
struct OpenMounts {
  std::vector<std::pair<std::string, std::shared_ptr<vfs::Node>>> roots;
};

/// Validates `mounts` (guest paths absolute, normalized, not "/", /tmp or /usr,
/// not nested, no duplicates; host paths existing directories) and opens them.
/// Writes through them are charged to one per-session quota from `limits`,
/// and their open files to one per-session host descriptor budget.
/// Errors: kInvalidArgument (bad guest path), kNotFound / kIo (host path).
Result<OpenMounts> open_mounts(const std::vector<Mount>& mounts, const Limits& limits);

/// The guest's "/": stdlib at its install path, `tmp` at /tmp, and the mounts.
std::shared_ptr<vfs::Node> make_root(const EngineState& engine, std::shared_ptr<vfs::Node> tmp,
                                     const OpenMounts& mounts);

/// Whether `node` belongs to a host mount. Snapshots do not carry open files
/// of mounts: a mount is a grant of the session, not part of its state.
bool is_mount_node(const vfs::Node& node);

}  // namespace pycell
