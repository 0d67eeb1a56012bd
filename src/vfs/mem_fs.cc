// In-memory writable filesystem for /tmp: files, directories, hard links and
// timestamps, every byte, entry and nesting level charged to one MemQuota.
#include "vfs/mem_fs.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace pycell::vfs {
namespace {

/// Timestamps every in-memory node keeps (ns since the epoch).
struct Times {
  uint64_t atime = now_ns(), mtime = atime, ctime = atime;
  void modified() { mtime = ctime = now_ns(); }
  void fill(Stat& s) const {
    s.atime_ns = atime;
    s.mtime_ns = mtime;
    s.ctime_ns = ctime;
  }
  void set(std::optional<uint64_t> a, std::optional<uint64_t> m) {
    if (a) atime = *a;
    if (m) mtime = *m;
    ctime = now_ns();
  }
};

class MemDir;

class MemFile final : public Node {
 public:
  explicit MemFile(std::shared_ptr<MemQuota> q) : quota_(std::move(q)) {}
  ~MemFile() override { quota_->used_bytes -= data_.size(); }
  [[nodiscard]] Stat stat() const override {
    Stat s;
    s.kind = Kind::kFile;
    s.ino = ino_;
    s.size = data_.size();
    s.nlink = nlink_;
    times_.fill(s);
    return s;
  }
  [[nodiscard]] bool writable() const override { return true; }
  Res<size_t> pread(uint64_t offset, std::span<uint8_t> out) const override {
    if (offset >= data_.size()) return size_t{0};
    size_t n = std::min<uint64_t>(out.size(), data_.size() - offset);
    std::memcpy(out.data(), data_.data() + offset, n);
    return n;
  }
  Res<size_t> pwrite(uint64_t offset, std::span<const uint8_t> in) override {
    if (in.empty()) return size_t{0};
    if (offset > UINT64_MAX - in.size()) return Errno::kFbig;
    const uint64_t end = offset + in.size();
    if (end > data_.size()) {
      Errno e = resize(end);
      if (e != Errno::kSuccess) return e;
    }
    std::memcpy(data_.data() + offset, in.data(), in.size());
    times_.modified();
    return in.size();
  }
  Errno truncate(uint64_t size) override {
    Errno e = resize(size);
    if (e == Errno::kSuccess) times_.modified();
    return e;
  }
  Errno set_times(std::optional<uint64_t> a, std::optional<uint64_t> m) override {
    times_.set(a, m);
    return Errno::kSuccess;
  }
  [[nodiscard]] const MemQuota* quota() const { return quota_.get(); }
  [[nodiscard]] const std::vector<uint8_t>& data() const { return data_; }
  Errno assign(const uint8_t* p, size_t n, const Stat& times) {
    if (Errno e = resize(n); e != Errno::kSuccess) return e;
    if (n) std::memcpy(data_.data(), p, n);
    times_.atime = times.atime_ns;
    times_.mtime = times.mtime_ns;
    times_.ctime = times.ctime_ns;
    return Errno::kSuccess;
  }
  void linked(int delta) {
    nlink_ = static_cast<uint64_t>(static_cast<int64_t>(nlink_) + delta);
    times_.ctime = now_ns();
  }

 private:
  Errno resize(uint64_t size) {
    if (size > data_.size()) {
      const uint64_t grow = size - data_.size();
      if (grow > quota_->max_bytes - quota_->used_bytes) return Errno::kNospc;
      quota_->used_bytes += grow;
    } else {
      quota_->used_bytes -= data_.size() - size;
    }
    data_.resize(size);
    return Errno::kSuccess;
  }
  std::shared_ptr<MemQuota> quota_;
  std::vector<uint8_t> data_;
  uint64_t nlink_ = 1;
  Times times_;
  uint64_t ino_ = next_ino();
};

class MemDir final : public Node {
 public:
  MemDir(std::shared_ptr<MemQuota> q, uint32_t depth) : quota_(std::move(q)), depth_(depth) {}
  [[nodiscard]] Stat stat() const override {
    Stat s;
    s.kind = Kind::kDirectory;
    s.ino = ino_;
    s.nlink = 2;
    times_.fill(s);
    return s;
  }
  [[nodiscard]] bool writable() const override { return true; }
  Errno set_times(std::optional<uint64_t> a, std::optional<uint64_t> m) override {
    times_.set(a, m);
    return Errno::kSuccess;
  }
  void set_all_times(uint64_t ns) { times_.atime = times_.mtime = times_.ctime = ns; }
  [[nodiscard]] const auto& children() const { return children_; }
  [[nodiscard]] bool removed() const { return removed_; }
  void mark_removed() { removed_ = true; }
  void restore_times(const Stat& st) {
    times_.atime = st.atime_ns;
    times_.mtime = st.mtime_ns;
    times_.ctime = st.ctime_ns;
  }
  Res<std::shared_ptr<Node>> lookup(std::string_view name) const override {
    auto it = children_.find(name);
    if (it == children_.end()) return Errno::kNoent;
    return it->second;
  }
  Res<std::vector<DirEntry>> list() const override {
    std::vector<DirEntry> out;
    for (const auto& [n, c] : children_) {
      Stat s = c->stat();
      out.push_back({n, s.kind, s.ino});
    }
    return out;
  }
  Res<std::shared_ptr<Node>> create(std::string_view name, Kind kind) override {
    if (removed_) return Errno::kNoent;
    if (children_.count(name)) return Errno::kExist;
    if (quota_->files >= quota_->max_files) return Errno::kDquot;
    std::shared_ptr<Node> n;
    if (kind == Kind::kDirectory) {
      if (depth_ + 1 > quota_->max_depth) return Errno::kNametoolong;
      n = std::make_shared<MemDir>(quota_, depth_ + 1);
    } else {
      n = std::make_shared<MemFile>(quota_);
    }
    add(name, n);
    return n;
  }
  Errno link(std::string_view name, const std::shared_ptr<Node>& target) override {
    auto* file = dynamic_cast<MemFile*>(target.get());
    if (!file) return target->kind() == Kind::kDirectory ? Errno::kPerm : Errno::kXdev;
    if (file->quota() != quota_.get()) return Errno::kXdev;
    if (removed_) return Errno::kNoent;
    if (children_.count(name)) return Errno::kExist;
    if (quota_->files >= quota_->max_files) return Errno::kDquot;
    file->linked(+1);
    add(name, target);
    return Errno::kSuccess;
  }
  Errno remove(std::string_view name, Kind kind) override {
    auto it = children_.find(name);
    if (it == children_.end()) return Errno::kNoent;
    const Kind k = it->second->kind();
    if (kind == Kind::kDirectory) {
      if (k != Kind::kDirectory) return Errno::kNotdir;
      if (!it->second->list().value.empty()) return Errno::kNotempty;
    } else if (k == Kind::kDirectory) {
      return Errno::kIsdir;
    }
    erase(it);
    return Errno::kSuccess;
  }
  Errno rename(std::string_view name, Node& to_dir, std::string_view to_name) override {
    auto* dest = dynamic_cast<MemDir*>(&to_dir);
    if (!dest || dest->quota_ != quota_) return Errno::kXdev;
    if (dest->removed_) return Errno::kNoent;
    auto it = children_.find(name);
    if (it == children_.end()) return Errno::kNoent;
    std::shared_ptr<Node> moving = it->second;
    auto* moving_dir = moving->kind() == Kind::kDirectory ? static_cast<MemDir*>(moving.get()) : nullptr;
    if (moving_dir) {
      if (contains(moving_dir, dest)) return Errno::kInval;
      if (dest->depth_ + 1 + moving_dir->height() > quota_->max_depth) return Errno::kNametoolong;
    }
    auto existing = dest->children_.find(to_name);
    if (existing != dest->children_.end()) {
      if (existing->second == moving) return Errno::kSuccess;  // same file (or link to it)
      const Kind ek = existing->second->kind();
      if (ek == Kind::kDirectory) {
        if (!moving_dir) return Errno::kIsdir;
        if (!existing->second->list().value.empty()) return Errno::kNotempty;
      } else if (moving_dir) {
        return Errno::kNotdir;
      }
      dest->erase(existing);
    }
    children_.erase(it);
    times_.modified();
    if (moving_dir) moving_dir->set_depth(dest->depth_ + 1);
    dest->children_.emplace(std::string(to_name), std::move(moving));
    dest->times_.modified();
    return Errno::kSuccess;
  }

 private:
  using Children = std::map<std::string, std::shared_ptr<Node>, std::less<>>;

  void add(std::string_view name, std::shared_ptr<Node> n) {
    ++quota_->files;
    children_.emplace(std::string(name), std::move(n));
    times_.modified();  // importlib watches directory mtimes for new modules
  }
  void erase(Children::iterator it) {
    if (auto* f = dynamic_cast<MemFile*>(it->second.get())) f->linked(-1);
    if (auto* d = dynamic_cast<MemDir*>(it->second.get())) d->mark_removed();
    children_.erase(it);
    --quota_->files;
    times_.modified();
  }
  // Recursion below is bounded by max_depth, an invariant create/rename keep.
  uint32_t height() const {
    uint32_t h = 0;
    for (const auto& [n, c] : children_) {
      if (c->kind() == Kind::kDirectory) h = std::max(h, 1 + static_cast<const MemDir*>(c.get())->height());
    }
    return h;
  }
  void set_depth(uint32_t d) {
    depth_ = d;
    for (const auto& [n, c] : children_) {
      if (c->kind() == Kind::kDirectory) static_cast<MemDir*>(c.get())->set_depth(d + 1);
    }
  }
  // Renaming a directory into its own subtree would detach a cycle.
  static bool contains(const MemDir* root, const MemDir* target) {
    if (root == target) return true;
    for (const auto& [n, c] : root->children_) {
      if (c->kind() == Kind::kDirectory && contains(static_cast<const MemDir*>(c.get()), target)) return true;
    }
    return false;
  }
  std::shared_ptr<MemQuota> quota_;
  uint32_t depth_;
  /// Removed from its parent (it was empty) but still open: it takes no new
  /// entries, as on Linux, for they could never be reached or removed again
  /// and would hold the file quota for good.
  bool removed_ = false;
  Children children_;
  Times times_;
  uint64_t ino_ = next_ino();
};

// Copies `from` (a directory) into `to`; recursion is bounded by max_depth.
Errno copy_children(const MemDir& from, MemDir& to, NodeMap& map) {
  for (const auto& [name, child] : from.children()) {
    if (auto it = map.find(child.get()); it != map.end()) {  // a second hard link
      if (Errno e = to.link(name, it->second); e != Errno::kSuccess) return e;
      continue;
    }
    const Stat st = child->stat();
    auto made = to.create(name, st.kind);
    if (!made) return made.err;
    map[child.get()] = made.value;
    if (st.kind == Kind::kDirectory) {
      auto& dir = static_cast<MemDir&>(*made.value);
      if (Errno e = copy_children(static_cast<const MemDir&>(*child), dir, map); e != Errno::kSuccess) return e;
      dir.restore_times(st);
    } else {
      const auto& src = static_cast<const MemFile&>(*child);
      if (Errno e = static_cast<MemFile&>(*made.value).assign(src.data().data(), src.data().size(), st);
          e != Errno::kSuccess) {
        return e;
      }
    }
  }
  to.restore_times(from.stat());
  return Errno::kSuccess;
}

void list_children(const MemDir& dir, const std::string& prefix, std::vector<MemEntry>& out,
                   std::map<const Node*, uint64_t>& seen) {
  for (const auto& [name, child] : dir.children()) {
    const Stat st = child->stat();
    MemEntry e{prefix + name, st.kind, st.atime_ns, st.mtime_ns, {}, 0, child};
    if (st.kind == Kind::kFile) {
      if (auto it = seen.find(child.get()); it != seen.end()) {
        e.link_of = it->second;
      } else {
        const auto& d = static_cast<const MemFile&>(*child).data();
        e.data.assign(d.begin(), d.end());
        seen[child.get()] = out.size() + 1;
      }
    }
    out.push_back(std::move(e));
    if (st.kind == Kind::kDirectory) list_children(static_cast<const MemDir&>(*child), prefix + name + "/", out, seen);
  }
}

}  // namespace

std::shared_ptr<MemQuota> unbounded_quota() {
  auto q = std::make_shared<MemQuota>();
  q->max_bytes = UINT64_MAX / 2;
  q->max_files = UINT64_MAX / 2;
  q->max_depth = UINT32_MAX / 2;
  return q;
}

std::shared_ptr<Node> make_mem_root(std::shared_ptr<MemQuota> quota, std::optional<uint64_t> time_ns) {
  auto root = std::make_shared<MemDir>(std::move(quota), 0);
  if (time_ns) root->set_all_times(*time_ns);
  return root;
}

Res<std::shared_ptr<Node>> copy_mem_tree(const Node& root, std::shared_ptr<MemQuota> quota, NodeMap& map) {
  auto copy = std::make_shared<MemDir>(std::move(quota), 0);
  map[&root] = copy;
  if (Errno e = copy_children(static_cast<const MemDir&>(root), *copy, map); e != Errno::kSuccess) return e;
  return std::shared_ptr<Node>(copy);
}

Res<std::shared_ptr<Node>> copy_detached(const Node& node, const std::shared_ptr<MemQuota>& quota, NodeMap& map) {
  if (auto it = map.find(&node); it != map.end()) return it->second;
  std::shared_ptr<Node> copy;
  if (const auto* file = dynamic_cast<const MemFile*>(&node)) {
    auto f = std::make_shared<MemFile>(quota);
    f->linked(-1);  // no name: not counted among the quota's files either
    if (Errno e = f->assign(file->data().data(), file->data().size(), file->stat()); e != Errno::kSuccess) return e;
    copy = std::move(f);
  } else if (const auto* dir = dynamic_cast<const MemDir*>(&node)) {
    auto d = std::make_shared<MemDir>(quota, 0);
    if (Errno e = copy_children(*dir, *d, map); e != Errno::kSuccess) return e;
    if (dir->removed()) d->mark_removed();
    copy = std::move(d);
  } else {
    return std::shared_ptr<Node>();
  }
  map[&node] = copy;
  return copy;
}

std::vector<MemEntry> list_mem_tree(const Node& root) {
  std::vector<MemEntry> out;
  const Stat st = root.stat();
  out.push_back({"", Kind::kDirectory, st.atime_ns, st.mtime_ns, {}, 0,
                 std::const_pointer_cast<Node>(root.shared_from_this())});
  std::map<const Node*, uint64_t> seen;
  list_children(static_cast<const MemDir&>(root), "", out, seen);
  return out;
}

Res<std::shared_ptr<Node>> build_mem_tree(const std::vector<MemEntry>& entries, std::shared_ptr<MemQuota> quota) {
  auto root = std::make_shared<MemDir>(std::move(quota), 0);
  std::vector<std::shared_ptr<Node>> made(entries.size());
  std::vector<std::pair<MemDir*, Stat>> dir_times;
  for (size_t i = 0; i < entries.size(); ++i) {
    const MemEntry& e = entries[i];
    Stat st;
    st.atime_ns = e.atime_ns;
    st.mtime_ns = st.ctime_ns = e.mtime_ns;
    if (e.path.empty()) {
      if (i != 0 || e.kind != Kind::kDirectory) return Errno::kInval;
      made[0] = root;
      dir_times.emplace_back(root.get(), st);
      continue;
    }
    const size_t slash = e.path.rfind('/');
    const std::string parent_path = slash == std::string::npos ? "" : e.path.substr(0, slash);
    const std::string name = slash == std::string::npos ? e.path : e.path.substr(slash + 1);
    if (name.empty() || name == "." || name == ".." || name.find('\0') != std::string::npos) return Errno::kInval;
    // Parents precede children in a pre-order listing: find it among earlier entries.
    std::shared_ptr<Node> parent = root;
    if (!parent_path.empty()) {
      std::shared_ptr<Node> at = root;
      size_t start = 0;
      while (start <= parent_path.size()) {
        size_t next = parent_path.find('/', start);
        if (next == std::string::npos) next = parent_path.size();
        auto found = at->lookup(parent_path.substr(start, next - start));
        if (!found || found.value->kind() != Kind::kDirectory) return Errno::kInval;
        at = found.value;
        start = next + 1;
      }
      parent = at;
    }
    if (e.link_of) {
      if (e.link_of > i || !made[e.link_of - 1] || e.kind != Kind::kFile) return Errno::kInval;
      if (Errno err = parent->link(name, made[e.link_of - 1]); err != Errno::kSuccess) return err;
      made[i] = made[e.link_of - 1];
      continue;
    }
    auto node = parent->create(name, e.kind);
    if (!node) return node.err;
    made[i] = node.value;
    if (e.kind == Kind::kFile) {
      if (Errno err = static_cast<MemFile&>(*node.value)
                          .assign(reinterpret_cast<const uint8_t*>(e.data.data()), e.data.size(), st);
          err != Errno::kSuccess) {
        return err;
      }
    } else {
      dir_times.emplace_back(static_cast<MemDir*>(node.value.get()), st);
    }
  }
  for (auto& [dir, st] : dir_times) dir->restore_times(st);  // after their entries were added
  return std::shared_ptr<Node>(root);
}

}  // namespace pycell::vfs
