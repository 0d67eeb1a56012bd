// Virtual filesystem nodes: what the guest's paths resolve to. Errors are WASI errno values.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pycell::vfs {

/// WASI preview 1 errno values (the spec's numbering), used throughout the VFS.
enum class Errno : uint16_t {
  kSuccess = 0, kAcces = 2, kBadf = 8, kBusy = 10, kDquot = 19, kExist = 20, kFault = 21, kFbig = 22,
  kIlseq = 25, kInval = 28, kIo = 29, kIsdir = 31, kLoop = 32, kMfile = 33, kNametoolong = 37,
  kNfile = 41, kNoent = 44, kNomem = 48, kNospc = 51, kNotdir = 54, kNotempty = 55, kNotsock = 57,
  kNotsup = 58, kPerm = 63, kRofs = 69, kSpipe = 70, kXdev = 75, kNotcapable = 76,
};

/// A node's type, numbered as WASI's filetype. The only character device is /dev/null.
enum class Kind : uint8_t { kCharDevice = 2, kDirectory = 3, kFile = 4 };

struct Stat {
  Kind kind = Kind::kFile;
  uint64_t ino = 0;
  uint64_t size = 0;
  uint64_t nlink = 1;
  uint64_t atime_ns = 0;
  uint64_t mtime_ns = 0;
  uint64_t ctime_ns = 0;
};

/// Wall-clock time for file timestamps, in ns since the epoch.
uint64_t now_ns();

struct DirEntry {
  std::string name;
  Kind kind;
  uint64_t ino;
};

/// A value or a WASI errno.
template <class T>
struct Res {
  T value{};
  Errno err = Errno::kSuccess;
  Res(T v) : value(std::move(v)) {}  // NOLINT
  Res(Errno e) : err(e) {}           // NOLINT
  explicit operator bool() const { return err == Errno::kSuccess; }
};

/// Fresh inode number, unique in the process (from 2^32 up).
uint64_t next_ino();
/// Image trees (load_images) number their nodes from here, in path order, the
/// same in every process; below next_ino()'s range.
inline constexpr uint64_t kImageInoBase = 1;

/// The parts of `path` between '/' separators, empty ones included ("a//b/"
/// gives "a", "", "b", ""), so each caller decides what they mean.
std::vector<std::string> split_path(std::string_view path);

/// A file or directory. Directories implement the directory calls, files the
/// data calls; the defaults answer as the wrong kind or as read-only.
class Node : public std::enable_shared_from_this<Node> {
 public:
  virtual ~Node() = default;
  [[nodiscard]] virtual Stat stat() const = 0;
  /// Virtual so that host-backed nodes answer without a host call.
  [[nodiscard]] virtual Kind kind() const { return stat().kind; }
  [[nodiscard]] virtual bool writable() const { return false; }

  /// What an fd opened on this node holds: this node by default (truncated
  /// first if `truncate`). Host files return a handle of their own (an open
  /// host descriptor; for writing, a private copy that close() publishes).
  virtual Res<std::shared_ptr<Node>> open(bool /*write*/, bool truncate) {
    if (truncate) {
      if (Errno e = this->truncate(0); e != Errno::kSuccess) return e;
    }
    return shared_from_this();
  }
  /// The guest closed the fd holding this node (open()'s result). An error
  /// is the guest's close() error; the fd is released either way.
  virtual Errno close() { return Errno::kSuccess; }

  // Files.
  virtual Res<size_t> pread(uint64_t offset, std::span<uint8_t> out) const;
  virtual Res<size_t> pwrite(uint64_t offset, std::span<const uint8_t> data);
  virtual Errno truncate(uint64_t size);
  /// Sets access/modification times (ns); an empty optional leaves one as is.
  virtual Errno set_times(std::optional<uint64_t> atime, std::optional<uint64_t> mtime);

  // Directories. Names are single components (no '/', not "." or "..").
  virtual Res<std::shared_ptr<Node>> lookup(std::string_view name) const;
  virtual Res<std::vector<DirEntry>> list() const;
  virtual Res<std::shared_ptr<Node>> create(std::string_view name, Kind kind);
  virtual Errno remove(std::string_view name, Kind kind);
  /// Moves this directory's entry `name` to `to_dir`/`to_name`, replacing a file there.
  virtual Errno rename(std::string_view name, Node& to_dir, std::string_view to_name);
  /// Adds `name` as a hard link to `target` (a file of the same filesystem).
  virtual Errno link(std::string_view name, const std::shared_ptr<Node>& target);
};

/// A read-only directory with fixed children: the guest's root and the
/// directories leading to mount points.
class StaticDir final : public Node {
 public:
  void add(std::string name, std::shared_ptr<Node> child);
  [[nodiscard]] Stat stat() const override;
  Res<std::shared_ptr<Node>> lookup(std::string_view name) const override;
  Res<std::vector<DirEntry>> list() const override;
  Res<std::shared_ptr<Node>> create(std::string_view name, Kind kind) override;
  Errno remove(std::string_view name, Kind kind) override;

 private:
  std::vector<std::pair<std::string, std::shared_ptr<Node>>> children_;
  uint64_t ino_ = next_ino();
};

}  // namespace pycell::vfs
