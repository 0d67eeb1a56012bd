// WASI path_*: name resolution inside the guest's virtual tree, and the
// operations on what a path names. Resolution walks one component at a time
// from a directory fd; ".." may never climb above that fd's directory.
#include <vector>

#include "wasi/handlers.h"

namespace pycell::wasi {
namespace {

using vfs::Kind;
using vfs::Node;

/// What a path names: the directory holding its last component, that
/// component's name, and the node itself if it exists. `name` is empty when the
/// path ends in "." or ".." (it names a directory that certainly exists).
struct Resolved {
  std::shared_ptr<Node> parent;
  std::string name;
  std::shared_ptr<Node> node;
  bool trailing_slash = false;
};

Errno resolve(Context& c, uint32_t dirfd, uint32_t ptr, uint32_t len, Resolved& out) {
  FdEntry* f = c.fd(dirfd);
  if (!f) return Errno::kBadf;
  if (f->kind != FdEntry::Kind::kNode || f->node->kind() != Kind::kDirectory) return Errno::kNotdir;
  std::string path;
  if (Errno e = read_path(*c.memory, ptr, len, path); e != Errno::kSuccess) return e;
  if (path.empty()) return Errno::kNoent;
  if (path.front() == '/') return Errno::kNotcapable;  // paths are relative to a capability

  std::vector<std::string> comps = vfs::split_path(path);
  std::erase(comps, std::string());  // "a//b" and "a/" name what "a/b" and "a" do
  out.trailing_slash = path.back() == '/';

  std::vector<std::shared_ptr<Node>> stack{f->node};
  for (size_t i = 0; i < comps.size(); ++i) {
    const std::string& comp = comps[i];
    if (comp == ".") continue;
    if (comp == "..") {
      if (stack.size() > 1) {
        stack.pop_back();
      } else if (f->preopen != "/") {
        return Errno::kNotcapable;  // never above the directory the fd grants
      }  // at the root, ".." is the root itself, as in POSIX
      continue;
    }
    auto r = stack.back()->lookup(comp);
    if (i + 1 == comps.size()) {
      out.parent = stack.back();
      out.name = comp;
      if (r) {
        out.node = r.value;
        if (out.trailing_slash && out.node->kind() != Kind::kDirectory) return Errno::kNotdir;
      } else if (r.err != Errno::kNoent) {
        return r.err;
      }
      return Errno::kSuccess;
    }
    if (!r) return r.err;
    if (r.value->kind() != Kind::kDirectory) return Errno::kNotdir;
    stack.push_back(r.value);
  }
  // The path ended in "." or "..": it names the directory on top, by no name.
  out.node = out.parent = stack.back();
  out.name.clear();
  out.trailing_slash = true;
  return Errno::kSuccess;
}

Errno alloc_fd(Context& c, FdEntry entry, uint32_t& fd) {
  for (uint32_t i = 0; i < c.fds.size(); ++i) {
    if (!c.fds[i]) {
      c.fds[i] = std::move(entry);
      fd = i;
      return Errno::kSuccess;
    }
  }
  if (c.fds.size() >= kMaxFds) return Errno::kMfile;
  c.fds.emplace_back(std::move(entry));
  fd = static_cast<uint32_t>(c.fds.size() - 1);
  return Errno::kSuccess;
}

}  // namespace

Errno path_open(Context& c, uint32_t dirfd, uint32_t, uint32_t path, uint32_t path_len, uint32_t oflags,
                uint64_t rights_base, uint64_t, uint32_t fdflags, uint32_t fd_out) {
  Resolved r;
  if (Errno e = resolve(c, dirfd, path, path_len, r); e != Errno::kSuccess) return e;
  const bool want_write = rights_base & layout::kRightFdWrite;
  std::shared_ptr<Node> node = r.node;
  if (!node) {
    if (!(oflags & layout::kOflagCreat)) return Errno::kNoent;
    if (r.trailing_slash || (oflags & layout::kOflagDirectory)) return Errno::kIsdir;
    auto created = r.parent->create(r.name, Kind::kFile);
    if (!created) return created.err;
    node = created.value;
  } else if ((oflags & layout::kOflagCreat) && (oflags & layout::kOflagExcl)) {
    return Errno::kExist;
  }
  const bool is_dir = node->kind() == Kind::kDirectory;
  if ((oflags & layout::kOflagDirectory) && !is_dir) return Errno::kNotdir;
  if (r.trailing_slash && !is_dir) return Errno::kNotdir;
  if (is_dir && (want_write || (oflags & layout::kOflagTrunc))) return Errno::kIsdir;
  if (want_write && !node->writable()) return Errno::kRofs;
  auto opened = node->open(want_write, oflags & layout::kOflagTrunc);
  if (!opened) return opened.err;
  FdEntry entry;
  entry.node = std::move(opened.value);
  entry.readable = (rights_base & layout::kRightFdRead) || is_dir;
  entry.writable = want_write;
  entry.fdflags = static_cast<uint16_t>(fdflags);
  uint32_t fd;
  if (Errno e = alloc_fd(c, std::move(entry), fd); e != Errno::kSuccess) return e;
  if (!c.memory->store_u32(fd_out, fd)) {
    c.fds[fd].reset();
    return Errno::kFault;
  }
  return Errno::kSuccess;
}

Errno path_filestat_get(Context& c, uint32_t fd, uint32_t, uint32_t path, uint32_t path_len, uint32_t out) {
  Resolved r;
  if (Errno e = resolve(c, fd, path, path_len, r); e != Errno::kSuccess) return e;
  if (!r.node) return Errno::kNoent;
  vfs::Stat st = r.node->stat();
  if (r.trailing_slash && st.kind != Kind::kDirectory) return Errno::kNotdir;
  return store_filestat(*c.memory, out, st, filetype_of(st.kind));
}

Errno path_filestat_set_times(Context& c, uint32_t fd, uint32_t, uint32_t path, uint32_t path_len, uint64_t atim,
                              uint64_t mtim, uint32_t flags) {
  Resolved r;
  if (Errno e = resolve(c, fd, path, path_len, r); e != Errno::kSuccess) return e;
  if (!r.node) return Errno::kNoent;
  return set_times(*r.node, atim, mtim, flags);
}

Errno path_create_directory(Context& c, uint32_t fd, uint32_t path, uint32_t path_len) {
  Resolved r;
  if (Errno e = resolve(c, fd, path, path_len, r); e != Errno::kSuccess) return e;
  if (r.node) return Errno::kExist;
  auto created = r.parent->create(r.name, Kind::kDirectory);  // name is never empty here
  return created ? Errno::kSuccess : created.err;
}

Errno path_remove_directory(Context& c, uint32_t fd, uint32_t path, uint32_t path_len) {
  Resolved r;
  if (Errno e = resolve(c, fd, path, path_len, r); e != Errno::kSuccess) return e;
  if (!r.node) return Errno::kNoent;
  if (r.name.empty()) return Errno::kInval;  // "." / ".."
  return r.parent->remove(r.name, Kind::kDirectory);
}

Errno path_unlink_file(Context& c, uint32_t fd, uint32_t path, uint32_t path_len) {
  Resolved r;
  if (Errno e = resolve(c, fd, path, path_len, r); e != Errno::kSuccess) return e;
  if (!r.node) return Errno::kNoent;
  if (r.trailing_slash || r.node->kind() == Kind::kDirectory) return Errno::kIsdir;
  return r.parent->remove(r.name, Kind::kFile);
}

Errno path_rename(Context& c, uint32_t fd, uint32_t old_path, uint32_t old_len, uint32_t new_fd,
                  uint32_t new_path, uint32_t new_len) {
  Resolved from, to;
  if (Errno e = resolve(c, fd, old_path, old_len, from); e != Errno::kSuccess) return e;
  if (Errno e = resolve(c, new_fd, new_path, new_len, to); e != Errno::kSuccess) return e;
  if (!from.node) return Errno::kNoent;
  if (from.name.empty() || to.name.empty()) return Errno::kBusy;
  return from.parent->rename(from.name, *to.parent, to.name);
}

// Hard links join two names of one writable filesystem; anything else
// (a read-only file, another filesystem) is EXDEV/EROFS from the VFS.
Errno path_link(Context& c, uint32_t old_fd, uint32_t, uint32_t old_path, uint32_t old_len, uint32_t new_fd,
                uint32_t new_path, uint32_t new_len) {
  Resolved from, to;
  if (Errno e = resolve(c, old_fd, old_path, old_len, from); e != Errno::kSuccess) return e;
  if (Errno e = resolve(c, new_fd, new_path, new_len, to); e != Errno::kSuccess) return e;
  if (!from.node) return Errno::kNoent;
  if (to.node) return Errno::kExist;
  if (from.node->kind() == Kind::kDirectory) return Errno::kPerm;
  return to.parent->link(to.name, from.node);
}

// Symbolic links are deliberately not supported: a guest-made link is a path
// that could be re-read later through another mount, so none can exist.
Errno path_symlink(Context& c, uint32_t old_path, uint32_t old_len, uint32_t fd, uint32_t new_path,
                   uint32_t new_len) {
  std::string target;
  if (Errno e = read_path(*c.memory, old_path, old_len, target); e != Errno::kSuccess) return e;
  Resolved to;
  if (Errno e = resolve(c, fd, new_path, new_len, to); e != Errno::kSuccess) return e;
  if (to.node) return Errno::kExist;
  return Errno::kNotsup;
}

Errno path_readlink(Context& c, uint32_t fd, uint32_t path, uint32_t path_len, uint32_t, uint32_t, uint32_t) {
  Resolved r;
  if (Errno e = resolve(c, fd, path, path_len, r); e != Errno::kSuccess) return e;
  return r.node ? Errno::kInval : Errno::kNoent;  // nothing here is a symlink
}

}  // namespace pycell::wasi
