// Read-only image filesystem over mapped ustar archives.
#include "vfs/image_fs.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

namespace pycell::vfs {
namespace {

/// A mapped archive; files keep it alive through shared_ptr.
struct Mapping {
  const uint8_t* data = nullptr;
  size_t size = 0;
  ~Mapping() {
    if (data) munmap(const_cast<uint8_t*>(data), size);
  }
};

class ImageFile final : public Node {
 public:
  ImageFile(std::shared_ptr<const Mapping> m, size_t off, size_t size, uint64_t mtime_ns)
      : map_(std::move(m)), off_(off), size_(size), mtime_ns_(mtime_ns) {}
  [[nodiscard]] Stat stat() const override {
    Stat s;
    s.kind = Kind::kFile;
    s.ino = ino_;
    s.size = size_;
    s.atime_ns = s.mtime_ns = s.ctime_ns = mtime_ns_;
    return s;
  }
  Res<size_t> pread(uint64_t offset, std::span<uint8_t> out) const override {
    if (offset >= size_) return size_t{0};
    size_t n = std::min<uint64_t>(out.size(), size_ - offset);
    std::memcpy(out.data(), map_->data + off_ + offset, n);
    return n;
  }
  void set_ino(uint64_t ino) { ino_ = ino; }

 private:
  std::shared_ptr<const Mapping> map_;
  size_t off_, size_;
  uint64_t mtime_ns_;
  uint64_t ino_ = next_ino();
};

class ImageDir final : public Node {
 public:
  [[nodiscard]] Stat stat() const override {
    Stat s;
    s.kind = Kind::kDirectory;
    s.ino = ino_;
    s.nlink = 2;
    s.atime_ns = s.mtime_ns = s.ctime_ns = mtime_ns_;
    return s;
  }
  void set_mtime(uint64_t ns) { mtime_ns_ = ns; }
  Res<std::shared_ptr<Node>> lookup(std::string_view name) const override {
    auto it = children_.find(name);
    if (it == children_.end()) return Errno::kNoent;
    return it->second;
  }
  Res<std::vector<DirEntry>> list() const override {
    std::vector<DirEntry> out;
    out.reserve(children_.size());
    for (const auto& [n, c] : children_) {
      Stat s = c->stat();
      out.push_back({n, s.kind, s.ino});
    }
    return out;
  }
  Res<std::shared_ptr<Node>> create(std::string_view name, Kind) override {
    return children_.count(name) ? Errno::kExist : Errno::kRofs;
  }
  Errno remove(std::string_view name, Kind) override {
    return children_.count(name) ? Errno::kRofs : Errno::kNoent;
  }

  // Building (load time only, before the tree is shared).
  std::shared_ptr<ImageDir> subdir(const std::string& name) {
    auto& slot = children_[name];
    auto d = std::dynamic_pointer_cast<ImageDir>(slot);
    if (!d) {
      d = std::make_shared<ImageDir>();
      slot = d;
    }
    return d;
  }
  void put(const std::string& name, std::shared_ptr<Node> n) { children_[name] = std::move(n); }
  /// Numbers this tree's inodes from `next` in path order. Guests cache inode
  /// numbers (CPython's start-up keeps some), so they must not depend on how
  /// many nodes the process made before: the engines of two processes would
  /// then pre-initialize different memories, and one's delta snapshots
  /// (Snapshot::serialize_delta) would not apply to the other's.
  void number(uint64_t& next) {
    ino_ = next++;
    for (auto& [name, child] : children_) {
      if (auto d = std::dynamic_pointer_cast<ImageDir>(child)) {
        d->number(next);
      } else if (auto f = std::dynamic_pointer_cast<ImageFile>(child)) {
        f->set_ino(next++);
      }
    }
  }

 private:
  std::map<std::string, std::shared_ptr<Node>, std::less<>> children_;
  uint64_t mtime_ns_ = 0;
  uint64_t ino_ = next_ino();
};

Error corrupt(const std::string& path, const std::string& why) {
  return Error(ErrorCode::kCorrupt, "image " + path + ": " + why);
}

uint64_t octal(const uint8_t* p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n && p[i] >= '0' && p[i] <= '7'; ++i) v = v * 8 + (p[i] - '0');
  return v;
}

std::string field(const uint8_t* p, size_t n) {
  size_t len = 0;
  while (len < n && p[len]) ++len;
  return std::string(reinterpret_cast<const char*>(p), len);
}

Result<std::shared_ptr<const Mapping>> map_file(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Error(errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
                 "open(" + path + "): " + std::strerror(errno));
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || st.st_size <= 0) {
    close(fd);
    return Error(ErrorCode::kCorrupt, "image " + path + ": empty or unreadable");
  }
  void* p = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (p == MAP_FAILED) return Error(ErrorCode::kIo, "mmap(" + path + "): " + std::strerror(errno));
  auto m = std::make_shared<Mapping>();
  m->data = static_cast<const uint8_t*>(p);
  m->size = static_cast<size_t>(st.st_size);
  return std::shared_ptr<const Mapping>(m);
}

Result<void> add_archive(ImageDir& root, const std::string& path) {
  auto mapped = map_file(path);
  if (!mapped) return mapped.error();
  std::shared_ptr<const Mapping> m = *mapped;
  size_t off = 0;
  while (true) {
    if (off + 512 > m->size) return corrupt(path, "truncated header at " + std::to_string(off));
    const uint8_t* h = m->data + off;
    if (std::all_of(h, h + 512, [](uint8_t b) { return b == 0; })) break;  // end marker
    if (std::memcmp(h + 257, "ustar", 5) != 0) return corrupt(path, "not a ustar header at " + std::to_string(off));
    uint64_t sum = 0;
    for (int i = 0; i < 512; ++i) sum += (i >= 148 && i < 156) ? ' ' : h[i];
    if (sum != octal(h + 148, 8)) return corrupt(path, "bad header checksum at " + std::to_string(off));
    std::string name = field(h, 100), prefix = field(h + 345, 155);
    if (!prefix.empty()) name = prefix + "/" + name;
    const uint64_t size = octal(h + 124, 12);
    const uint64_t mtime_ns = octal(h + 136, 12) * 1'000'000'000ull;
    const char type = static_cast<char>(h[156]);
    const size_t data = off + 512;
    if (size > m->size - data) return corrupt(path, "entry " + name + " runs past the end");

    // Walk the components; ".." or empty components never appear in our images.
    ImageDir* dir = &root;
    std::shared_ptr<ImageDir> hold;
    size_t start = 0;
    while (!name.empty() && name.back() == '/') name.pop_back();
    while (true) {
      size_t slash = name.find('/', start);
      std::string comp = name.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
      if (comp.empty() || comp == "." || comp == "..") return corrupt(path, "bad path " + name);
      if (slash == std::string::npos) {
        if (type == '5') {
          dir->subdir(comp)->set_mtime(mtime_ns);
        } else if (type == '0' || type == '\0') {
          dir->put(comp, std::make_shared<ImageFile>(m, data, size, mtime_ns));
        } else {
          return corrupt(path, "unsupported entry type for " + name);
        }
        break;
      }
      hold = dir->subdir(comp);
      dir = hold.get();
      start = slash + 1;
    }
    off = data + (size + 511) / 512 * 512;
  }
  return Ok();
}

}  // namespace

Result<std::shared_ptr<Node>> load_images(const std::vector<std::string>& paths) {
  auto root = std::make_shared<ImageDir>();
  for (const auto& p : paths) {
    auto r = add_archive(*root, p);
    if (!r) return r.error();
  }
  uint64_t next = kImageInoBase;
  root->number(next);
  return std::shared_ptr<Node>(root);
}

}  // namespace pycell::vfs
