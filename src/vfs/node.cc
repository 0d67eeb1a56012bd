// Default Node behaviour (wrong kind / read-only answers) and StaticDir.
#include "vfs/vfs.h"

#include <atomic>
#include <chrono>

namespace pycell::vfs {

uint64_t next_ino() {
  static std::atomic<uint64_t> next{uint64_t{1} << 32};
  return next.fetch_add(1, std::memory_order_relaxed);
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> parts;
  for (size_t start = 0;;) {
    const size_t slash = path.find('/', start);
    parts.emplace_back(path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) return parts;
    start = slash + 1;
  }
}

uint64_t now_ns() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

Res<size_t> Node::pread(uint64_t, std::span<uint8_t>) const { return Errno::kIsdir; }
Res<size_t> Node::pwrite(uint64_t, std::span<const uint8_t>) {
  return kind() == Kind::kDirectory ? Errno::kIsdir : Errno::kRofs;
}
Errno Node::truncate(uint64_t) { return kind() == Kind::kDirectory ? Errno::kIsdir : Errno::kRofs; }
Errno Node::set_times(std::optional<uint64_t>, std::optional<uint64_t>) { return Errno::kRofs; }
Errno Node::link(std::string_view, const std::shared_ptr<Node>&) {
  return kind() == Kind::kDirectory ? Errno::kRofs : Errno::kNotdir;
}
Res<std::shared_ptr<Node>> Node::lookup(std::string_view) const { return Errno::kNotdir; }
Res<std::vector<DirEntry>> Node::list() const { return Errno::kNotdir; }
Res<std::shared_ptr<Node>> Node::create(std::string_view, Kind) {
  return kind() == Kind::kDirectory ? Errno::kRofs : Errno::kNotdir;
}
Errno Node::remove(std::string_view, Kind) {
  return kind() == Kind::kDirectory ? Errno::kRofs : Errno::kNotdir;
}
Errno Node::rename(std::string_view, Node&, std::string_view) {
  return kind() == Kind::kDirectory ? Errno::kRofs : Errno::kNotdir;
}

void StaticDir::add(std::string name, std::shared_ptr<Node> child) {
  children_.emplace_back(std::move(name), std::move(child));
}

Stat StaticDir::stat() const {
  Stat s;
  s.kind = Kind::kDirectory;
  s.ino = ino_;
  s.nlink = 2;
  return s;
}

Res<std::shared_ptr<Node>> StaticDir::lookup(std::string_view name) const {
  for (const auto& [n, c] : children_) {
    if (n == name) return c;
  }
  return Errno::kNoent;
}

Res<std::vector<DirEntry>> StaticDir::list() const {
  std::vector<DirEntry> out;
  for (const auto& [n, c] : children_) {
    Stat s = c->stat();
    out.push_back({n, s.kind, s.ino});
  }
  return out;
}

Res<std::shared_ptr<Node>> StaticDir::create(std::string_view name, Kind) {
  return lookup(name) ? Errno::kExist : Errno::kRofs;
}
Errno StaticDir::remove(std::string_view name, Kind) {
  return lookup(name) ? Errno::kRofs : Errno::kNoent;
}

}  // namespace pycell::vfs
