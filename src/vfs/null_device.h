// /dev/null: a character device that reads as empty and discards what is written.
#pragma once

#include <memory>

#include "vfs/vfs.h"

namespace pycell::vfs {

std::shared_ptr<Node> make_null_device();

}  // namespace pycell::vfs
