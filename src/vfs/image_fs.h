// Read-only image filesystem: the stdlib (and optional overlays) served out of
// mapped ustar archives built by guest/pack_stdlib.py.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "pycell/error.h"
#include "vfs/vfs.h"

namespace pycell::vfs {

/// Maps each archive (read-only, shared by all sessions) and merges them into
/// one directory tree; a later archive's file replaces an earlier one's.
/// Errors: kNotFound / kIo opening, kCorrupt for a malformed archive.
Result<std::shared_ptr<Node>> load_images(const std::vector<std::string>& paths);

}  // namespace pycell::vfs
