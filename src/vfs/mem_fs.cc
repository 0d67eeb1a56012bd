// In-memory writable filesystem for /tmp.
#include "vfs/mem_fs.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace pycell::vfs {
namespace {

class MemFile final : public Node {
 public:
  explicit MemFile(std::shared_ptr<MemQuota> q) : quota_(std::move(q)) {}
  ~MemFile() override { quota_->used_bytes -= data_.size(); }
  [[nodiscard]] Stat stat() const override {
    Stat s;
    s.kind = Kind::kFile;
    s.ino = ino_;
    s.size = data_.size();
    s.nlink = nlink;
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
    return in.size();
  }
  Errno truncate(uint64_t size) override { return resize(size); }
  uint64_t nlink = 1;

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
    return s;
  }
  [[nodiscard]] bool writable() const override { return true; }
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
    if (children_.count(name)) return Errno::kExist;
    if (quota_->files >= quota_->max_files) return Errno::kDquot;
    std::shared_ptr<Node> n;
    if (kind == Kind::kDirectory) {
      if (depth_ + 1 > quota_->max_depth) return Errno::kNametoolong;
      n = std::make_shared<MemDir>(quota_, depth_ + 1);
    } else {
      n = std::make_shared<MemFile>(quota_);
    }
    ++quota_->files;
    children_.emplace(std::string(name), n);
    return n;
  }
  Errno remove(std::string_view name, Kind kind) override {
    auto it = children_.find(name);
    if (it == children_.end()) return Errno::kNoent;
    const Kind k = it->second->kind();
    if (kind == Kind::kDirectory) {
      if (k != Kind::kDirectory) return Errno::kNotdir;
      auto entries = it->second->list();
      if (!entries.value.empty()) return Errno::kNotempty;
    } else if (k == Kind::kDirectory) {
      return Errno::kIsdir;
    }
    children_.erase(it);
    --quota_->files;
    return Errno::kSuccess;
  }
  Errno rename(std::string_view name, Node& to_dir, std::string_view to_name) override {
    auto* dest = dynamic_cast<MemDir*>(&to_dir);
    if (!dest || dest->quota_ != quota_) return Errno::kXdev;
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
      if (existing->second == moving) return Errno::kSuccess;
      const Kind ek = existing->second->kind();
      if (ek == Kind::kDirectory) {
        if (moving->kind() != Kind::kDirectory) return Errno::kIsdir;
        if (!existing->second->list().value.empty()) return Errno::kNotempty;
      } else if (moving->kind() == Kind::kDirectory) {
        return Errno::kNotdir;
      }
      dest->children_.erase(existing);
      --quota_->files;
    }
    children_.erase(it);
    if (moving_dir) moving_dir->set_depth(dest->depth_ + 1);
    dest->children_.emplace(std::string(to_name), std::move(moving));
    return Errno::kSuccess;
  }

 private:
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
  std::map<std::string, std::shared_ptr<Node>, std::less<>> children_;
  uint64_t ino_ = next_ino();
};

}  // namespace

std::shared_ptr<Node> make_mem_root(std::shared_ptr<MemQuota> quota) {
  return std::make_shared<MemDir>(std::move(quota), 0);
}

}  // namespace pycell::vfs
