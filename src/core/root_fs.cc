// The guest's filesystem tree (see root_fs.h): the fixed part, plus the
// session's mounts, validated and opened here.
#include "core/root_fs.h"

#include <string_view>

#include "core/engine_state.h"
#include "vfs/host_fs.h"
#include "vfs/null_device.h"

namespace pycell {
namespace {

bool under(std::string_view path, std::string_view dir) {
  return path == dir || (path.starts_with(dir) && path.size() > dir.size() && path[dir.size()] == '/');
}

/// The components of an absolute path.
std::vector<std::string> components(std::string_view path) { return vfs::split_path(path.substr(1)); }

/// Why `path` cannot be a mount's guest path; empty if it can.
std::string bad_guest_path(std::string_view path) {
  if (path.empty() || path.front() != '/') return "must be absolute";
  if (path == "/") return "cannot be \"/\"";
  if (path.back() == '/') return "must not end in '/'";
  if (path.find('\0') != path.npos) return "must not contain NUL";
  for (const std::string& c : components(path)) {
    if (c.empty()) return "must not contain \"//\"";
    if (c == "." || c == "..") return "must be normalized (no \".\" or \"..\")";
  }
  // /tmp, the stdlib's /usr and /dev belong to the session and the engine.
  if (under(path, "/tmp") || under(path, "/usr") || under(path, "/dev")) {
    return "cannot be /tmp, /usr, /dev or under them";
  }
  return {};
}

}  // namespace

Result<OpenMounts> open_mounts(const std::vector<Mount>& mounts, const Limits& limits) {
  OpenMounts out;
  auto quota = std::make_shared<vfs::WriteQuota>();
  quota->max_bytes = limits.mount_write_bytes;
  auto fds = std::make_shared<vfs::FdBudget>();
  fds->max = limits.host_fds;
  for (size_t i = 0; i < mounts.size(); ++i) {
    const Mount& m = mounts[i];
    const std::string what = "mount guest_path \"" + m.guest_path + "\": ";
    if (std::string why = bad_guest_path(m.guest_path); !why.empty()) {
      return Error(ErrorCode::kInvalidArgument, what + why);
    }
    for (size_t j = 0; j < i; ++j) {
      const std::string& other = mounts[j].guest_path;
      if (other == m.guest_path) return Error(ErrorCode::kInvalidArgument, what + "mounted twice");
      if (under(m.guest_path, other) || under(other, m.guest_path)) {
        return Error(ErrorCode::kInvalidArgument, what + "nested with mount \"" + other + "\"");
      }
    }
    if (m.package_path && m.access != Mount::Access::kReadOnly) {
      return Error(ErrorCode::kInvalidArgument, what + "package_path needs a read-only mount");
    }
    auto root = vfs::open_host_dir(m.host_path, m.access == Mount::Access::kReadWrite, quota, fds);
    if (!root) return root.error();
    out.roots.emplace_back(m.guest_path, std::move(*root));
  }
  return out;
}

std::shared_ptr<vfs::Node> make_root(const EngineState& engine, std::shared_ptr<vfs::Node> tmp,
                                     const OpenMounts& mounts) {
  auto lib = std::make_shared<vfs::StaticDir>();
  lib->add("python3.13", engine.stdlib);
  auto local = std::make_shared<vfs::StaticDir>();
  local->add("lib", lib);
  auto usr = std::make_shared<vfs::StaticDir>();
  usr->add("local", local);
  // os.devnull: programs open it to discard output (pytest's logging plugin does).
  auto dev = std::make_shared<vfs::StaticDir>();
  dev->add("null", vfs::make_null_device());
  auto root = std::make_shared<vfs::StaticDir>();
  root->add("dev", std::move(dev));
  root->add("tmp", std::move(tmp));
  root->add("usr", usr);
  // Static (read-only) directories lead to each mount point, e.g. /mnt/in/x.
  for (const auto& [guest_path, node] : mounts.roots) {
    const std::vector<std::string> parts = components(guest_path);
    std::shared_ptr<vfs::StaticDir> dir = root;
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      std::shared_ptr<vfs::StaticDir> next;
      if (auto found = dir->lookup(parts[i]); found) {
        // open_mounts keeps mounts off /tmp, /usr and each other: only our StaticDirs are here.
        next = std::dynamic_pointer_cast<vfs::StaticDir>(found.value);
        if (!next) std::abort();
      } else {
        next = std::make_shared<vfs::StaticDir>();
        dir->add(parts[i], next);
      }
      dir = std::move(next);
    }
    dir->add(parts.back(), node);
  }
  return root;
}

bool is_mount_node(const vfs::Node& node) { return vfs::is_host_node(node); }

}  // namespace pycell
