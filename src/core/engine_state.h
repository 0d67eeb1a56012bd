// EngineState: what every session of one Engine shares (read-only after creation).
#pragma once

#include <memory>

#include "vfs/vfs.h"

namespace pycell {

struct EngineState {
  /// The merged read-only stdlib tree, mounted at /usr/local/lib/python3.13.
  std::shared_ptr<vfs::Node> stdlib;
};

}  // namespace pycell
