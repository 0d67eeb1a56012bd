// Host directory filesystem (see host_fs.h). Path nodes hold no host resource:
// every operation resolves the node's path again from the mount's root fd,
// beneath it. Open files are handles holding a host descriptor (two for a
// file opened for writing: a private temporary copy published by rename at
// close, and its directory), each leased from the session's and the
// process's descriptor budgets (fd_budget.h).
#include "vfs/host_fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace pycell::vfs {
namespace {

/// An owned host descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  [[nodiscard]] int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_ = -1;
};

Errno from_errno(int e) {
  switch (e) {
    case EACCES: return Errno::kAcces;
    case EPERM: return Errno::kPerm;
    case ENOENT: return Errno::kNoent;
    case EEXIST: return Errno::kExist;
    case ENOTDIR: return Errno::kNotdir;
    case EISDIR: return Errno::kIsdir;
    case ENOTEMPTY: return Errno::kNotempty;
    case EBUSY: return Errno::kBusy;
    case EINVAL: return Errno::kInval;
    case ELOOP: return Errno::kLoop;
    case ENAMETOOLONG: return Errno::kNametoolong;
    case EXDEV: return Errno::kXdev;
    case ENOSPC: return Errno::kNospc;
    case EDQUOT: return Errno::kDquot;
    case EFBIG: return Errno::kFbig;
    case EROFS: return Errno::kRofs;
    case EMFILE:
    case ENFILE: return Errno::kNfile;
    case ENOMEM: return Errno::kNomem;
    default: return Errno::kIo;
  }
}

long sys_openat2(int dir, const char* path, const open_how& how) {
  return syscall(SYS_openat2, dir, path, &how, sizeof how);
}

// openat2 answers EAGAIN when a rename elsewhere raced its ".." handling;
// a few retries get through any realistic churn.
constexpr int kOpenRetries = 32;

/// Opens `path` (relative; "" is `dir` itself) beneath `dir`. The kernel
/// refuses any resolution that would leave `dir` — "..", absolute symlinks,
/// symlinks pointing outside, magic links — with EXDEV or ELOOP; the guest
/// sees EXDEV as ENOTCAPABLE, like ".." above a preopen.
Res<Fd> open_beneath(int dir, const std::string& path, uint64_t flags, uint64_t mode = 0) {
  open_how how{};
  how.flags = flags | O_CLOEXEC;
  how.mode = mode;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  for (int attempt = 0;; ++attempt) {
    const long fd = sys_openat2(dir, path.empty() ? "." : path.c_str(), how);
    if (fd >= 0) return Fd(static_cast<int>(fd));
    if (errno == EINTR || (errno == EAGAIN && attempt < kOpenRetries)) continue;
    if (errno == EXDEV) return Errno::kNotcapable;
    if (errno == EAGAIN) return Errno::kBusy;
    return from_errno(errno);
  }
}

/// Host inode numbers live in the upper half of the guest's inode space
/// (in-memory nodes count up from 1), mixed with the device: every guest file
/// shows the same st_dev, and shutil treats equal (dev, ino) as the same file.
uint64_t host_ino(dev_t dev, ino_t ino) {
  return (1ull << 63) | ((static_cast<uint64_t>(dev) * 0x9e3779b97f4a7c15ull) ^ static_cast<uint64_t>(ino));
}

// Largest file offset the host accepts (off_t).
constexpr uint64_t kMaxOffset = INT64_MAX;

uint64_t to_ns(const timespec& t) {
  if (t.tv_sec < 0) return 0;
  return static_cast<uint64_t>(t.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(t.tv_nsec);
}

/// Regular files and directories are exposed; FIFOs, sockets and devices
/// never are (opening one could block, or talk to a driver).
std::optional<Kind> exposed_kind(mode_t mode) {
  if (S_ISREG(mode)) return Kind::kFile;
  if (S_ISDIR(mode)) return Kind::kDirectory;
  return std::nullopt;
}

Stat to_stat(const struct stat& s) {
  Stat out;
  out.kind = S_ISDIR(s.st_mode) ? Kind::kDirectory : Kind::kFile;
  out.ino = host_ino(s.st_dev, s.st_ino);
  out.size = static_cast<uint64_t>(s.st_size);
  out.nlink = s.st_nlink;
  out.atime_ns = to_ns(s.st_atim);
  out.mtime_ns = to_ns(s.st_mtim);
  out.ctime_ns = to_ns(s.st_ctim);
  return out;
}

Res<struct stat> fstat_of(int fd) {
  struct stat s{};
  if (::fstat(fd, &s) != 0) return from_errno(errno);
  return s;
}

/// The Stat of an open file (an empty one if the host refuses fstat).
Stat stat_of_open(int fd) {
  auto s = fstat_of(fd);
  return s ? to_stat(s.value) : Stat{};
}

/// pread on an open file; past the largest host offset there is nothing.
Res<size_t> pread_open(int fd, uint64_t offset, std::span<uint8_t> out) {
  if (offset > kMaxOffset) return size_t{0};
  for (;;) {
    const ssize_t n = ::pread(fd, out.data(), out.size(), static_cast<off_t>(offset));
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) return from_errno(errno);
  }
}

timespec to_timespec(std::optional<uint64_t> ns) {
  if (!ns) return {0, UTIME_OMIT};
  return {static_cast<time_t>(*ns / 1'000'000'000u), static_cast<long>(*ns % 1'000'000'000u)};
}

bool valid_name(std::string_view n) {
  return !n.empty() && n != "." && n != ".." && n.find_first_of(std::string_view("/\0", 2)) == n.npos;
}
bool reserved(std::string_view n) { return n.starts_with(kMountTempPrefix); }
std::string join(const std::string& dir, std::string_view name) {
  return dir.empty() ? std::string(name) : dir + "/" + std::string(name);
}
std::string parent_of(const std::string& rel) {
  const size_t slash = rel.rfind('/');
  return slash == rel.npos ? std::string() : rel.substr(0, slash);
}
std::string name_of(const std::string& rel) { return rel.substr(rel.rfind('/') + 1); }

/// What every node of one mount shares.
struct MountRoot {
  Fd root;  // O_PATH | O_DIRECTORY: every resolution starts here
  bool writable;
  std::shared_ptr<WriteQuota> quota;
  std::shared_ptr<FdBudget> fds;

  [[nodiscard]] bool fits(uint64_t n) const { return n <= quota->max_bytes - quota->used_bytes; }
  void charge(uint64_t n) { quota->used_bytes += n; }
  Res<Fd> open(const std::string& rel, uint64_t flags, uint64_t mode = 0) const {
    return open_beneath(root.get(), rel, flags, mode);
  }
};

class HostNode : public Node {
 public:
  explicit HostNode(std::shared_ptr<MountRoot> m) : m_(std::move(m)) {}
  [[nodiscard]] const MountRoot* mount() const { return m_.get(); }

 protected:
  std::shared_ptr<MountRoot> m_;
};

/// A file or directory named by its path in the mount ("" for the root):
/// components the resolver validated, joined by '/'.
class HostPath : public HostNode {
 public:
  HostPath(std::shared_ptr<MountRoot> m, std::string rel, Stat st)
      : HostNode(std::move(m)), rel_(std::move(rel)), st_(st) {}
  [[nodiscard]] const std::string& rel() const { return rel_; }
  [[nodiscard]] Kind kind() const override { return st_.kind; }
  [[nodiscard]] bool writable() const override { return m_->writable; }
  [[nodiscard]] Stat stat() const override {
    auto fd = m_->open(rel_, O_PATH);
    if (fd) {
      auto s = fstat_of(fd.value.get());
      if (s && exposed_kind(s.value.st_mode) == st_.kind) return to_stat(s.value);
    }
    return st_;  // gone or replaced since the lookup (or not created yet): as it was then
  }
  Errno set_times(std::optional<uint64_t> a, std::optional<uint64_t> m) override {
    if (!m_->writable) return Errno::kRofs;
    auto fd = m_->open(rel_, O_PATH);
    if (!fd) return fd.err;
    auto s = fstat_of(fd.value.get());
    if (!s) return s.err;
    if (!exposed_kind(s.value.st_mode)) return Errno::kNotsup;
    const timespec ts[2] = {to_timespec(a), to_timespec(m)};
    return utimensat(fd.value.get(), "", ts, AT_EMPTY_PATH) == 0 ? Errno::kSuccess : from_errno(errno);
  }

 protected:
  std::string rel_;
  Stat st_;  // at lookup
};

/// A file open for reading: the host descriptor found at open time.
class HostReader final : public HostNode {
 public:
  static constexpr uint32_t kHostFds = 1;
  HostReader(std::shared_ptr<MountRoot> m, FdLease lease, Fd fd)
      : HostNode(std::move(m)), lease_(std::move(lease)), fd_(std::move(fd)) {}
  [[nodiscard]] Kind kind() const override { return Kind::kFile; }
  [[nodiscard]] Stat stat() const override { return stat_of_open(fd_.get()); }
  Res<size_t> pread(uint64_t offset, std::span<uint8_t> out) const override {
    return pread_open(fd_.get(), offset, out);
  }
  Errno set_times(std::optional<uint64_t> a, std::optional<uint64_t> m) override {
    if (!m_->writable) return Errno::kRofs;
    const timespec ts[2] = {to_timespec(a), to_timespec(m)};
    return futimens(fd_.get(), ts) == 0 ? Errno::kSuccess : from_errno(errno);
  }

 private:
  FdLease lease_;  // outlives fd_: the descriptor is closed before it is given back
  Fd fd_;
};

/// Copies up to `size` bytes of `from` into `to` (both at offset 0); returns
/// how many it copied.
Res<uint64_t> copy_file(int from, int to, uint64_t size) {
  uint64_t done = 0;
  while (done < size) {
    const ssize_t n = copy_file_range(from, nullptr, to, nullptr, size - done, 0);
    if (n > 0) {
      done += static_cast<uint64_t>(n);
      continue;
    }
    if (n == 0) return done;  // the file shrank meanwhile
    if (errno == EINTR) continue;
    // Some filesystems cannot: copy through a buffer instead.
    if (done == 0 && (errno == EXDEV || errno == EINVAL || errno == EOPNOTSUPP || errno == ENOSYS)) break;
    return from_errno(errno);
  }
  std::vector<uint8_t> buf(64 * 1024);
  while (done < size) {
    const ssize_t n = ::read(from, buf.data(), std::min<uint64_t>(buf.size(), size - done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return from_errno(errno);
    if (n == 0) break;
    for (ssize_t w = 0; w < n;) {
      const ssize_t m = ::write(to, buf.data() + w, static_cast<size_t>(n - w));
      if (m < 0 && errno == EINTR) continue;
      if (m < 0) return from_errno(errno);
      w += m;
    }
    done += static_cast<uint64_t>(n);
  }
  return done;
}

// Unique enough that O_EXCL never meets a collision in practice; it is not a
// secret (the guest never sees these names).
std::string temp_name() {
  uint64_t r = 0;
  if (getrandom(&r, sizeof r, 0) != sizeof r) r = now_ns() ^ next_ino();
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(r));
  return std::string(kMountTempPrefix) + hex;
}

/// A file open for writing. The guest's writes go to a private temporary
/// file in the target's directory (a copy of the target unless truncated);
/// close() renames it over the target, so the file is always old or new. If
/// the fd is never closed (trap, rollback, session destroyed), the temporary
/// file is removed and the target keeps its old content.
class HostWriter final : public HostNode {
 public:
  static constexpr uint32_t kHostFds = 2;
  HostWriter(std::shared_ptr<MountRoot> m, FdLease lease, Fd dir, std::string name, std::string temp, Fd file)
      : HostNode(std::move(m)), lease_(std::move(lease)), dir_(std::move(dir)), name_(std::move(name)),
        temp_(std::move(temp)), file_(std::move(file)) {}
  ~HostWriter() override {
    if (!published_) unlinkat(dir_.get(), temp_.c_str(), 0);
  }

  /// `exists`: the file is on the host (else the guest just created it).
  static Res<std::shared_ptr<Node>> start(std::shared_ptr<MountRoot> m, const std::string& rel, bool exists,
                                         bool truncate) {
    auto lease = FdLease::take(m->fds, kHostFds);
    if (!lease) return lease.err;
    auto dir = m->open(parent_of(rel), O_PATH | O_DIRECTORY);
    if (!dir) return dir.err;
    const std::string name = name_of(rel);
    const bool copy = exists && !truncate;
    struct stat original{};
    Fd source;
    if (exists) {
      // O_NOFOLLOW: a symlink here would be replaced, not written through,
      // so writing to one is refused (ELOOP, as POSIX O_NOFOLLOW).
      auto f = open_beneath(dir.value.get(), name, (copy ? O_RDONLY | O_NONBLOCK : O_PATH) | O_NOFOLLOW);
      if (!f) return f.err;
      auto s = fstat_of(f.value.get());
      if (!s) return s.err;
      original = s.value;
      if (S_ISLNK(original.st_mode)) return Errno::kLoop;
      if (!S_ISREG(original.st_mode)) return S_ISDIR(original.st_mode) ? Errno::kIsdir : Errno::kNotsup;
      // The host's permissions still apply, though the file is replaced rather than written.
      if (faccessat(dir.value.get(), name.c_str(), W_OK, AT_EACCESS | AT_SYMLINK_NOFOLLOW) != 0) {
        return from_errno(errno);
      }
      if (copy && !m->fits(static_cast<uint64_t>(original.st_size))) return Errno::kDquot;
      source = std::move(f.value);
    }
    std::string temp = temp_name();
    auto file = open_beneath(dir.value.get(), temp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, 0666);
    if (!file) return file.err;
    auto w = std::make_shared<HostWriter>(m, std::move(lease.value), std::move(dir.value), name, std::move(temp),
                                          std::move(file.value));
    if (exists && fchmod(w->file_.get(), original.st_mode & 07777) != 0) return from_errno(errno);
    if (copy) {
      auto copied = copy_file(source.get(), w->file_.get(), static_cast<uint64_t>(original.st_size));
      if (!copied) return copied.err;
      m->charge(copied.value);  // bytes written to the host on the guest's behalf
    }
    return std::shared_ptr<Node>(std::move(w));
  }

  [[nodiscard]] Kind kind() const override { return Kind::kFile; }
  [[nodiscard]] bool writable() const override { return true; }
  [[nodiscard]] Stat stat() const override { return stat_of_open(file_.get()); }
  Res<size_t> pread(uint64_t offset, std::span<uint8_t> out) const override {
    return pread_open(file_.get(), offset, out);
  }
  Res<size_t> pwrite(uint64_t offset, std::span<const uint8_t> data) override {
    if (data.empty()) return size_t{0};
    if (offset > kMaxOffset || data.size() > kMaxOffset - offset) return Errno::kFbig;
    if (!m_->fits(data.size())) return Errno::kDquot;  // whole, or not at all
    size_t done = 0;
    while (done < data.size()) {
      const ssize_t n = ::pwrite(file_.get(), data.data() + done, data.size() - done,
                                 static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        if (done == 0) return from_errno(errno);
        break;
      }
      done += static_cast<size_t>(n);
    }
    m_->charge(done);
    return done;
  }
  Errno truncate(uint64_t size) override {
    if (size > kMaxOffset) return Errno::kFbig;
    auto s = fstat_of(file_.get());
    if (!s) return s.err;
    const auto old = static_cast<uint64_t>(s.value.st_size);
    const uint64_t growth = size > old ? size - old : 0;
    if (!m_->fits(growth)) return Errno::kDquot;
    if (ftruncate(file_.get(), static_cast<off_t>(size)) != 0) return from_errno(errno);
    m_->charge(growth);
    return Errno::kSuccess;
  }
  Errno set_times(std::optional<uint64_t> a, std::optional<uint64_t> m) override {
    const timespec ts[2] = {to_timespec(a), to_timespec(m)};
    return futimens(file_.get(), ts) == 0 ? Errno::kSuccess : from_errno(errno);
  }
  Errno close() override {
    if (published_) return Errno::kSuccess;
    // Replaces whatever has the name now (never following a symlink there).
    if (renameat(dir_.get(), temp_.c_str(), dir_.get(), name_.c_str()) != 0) return from_errno(errno);
    published_ = true;
    return Errno::kSuccess;
  }

 private:
  FdLease lease_;  // outlives dir_ and file_
  Fd dir_;  // the target's directory, found once at open
  std::string name_, temp_;
  Fd file_;  // the temporary file, read-write
  bool published_ = false;
};

class HostFile final : public HostPath {
 public:
  /// `exists` false: the guest created it; it appears on the host at close.
  HostFile(std::shared_ptr<MountRoot> m, std::string rel, Stat st, bool exists)
      : HostPath(std::move(m), std::move(rel), st), exists_(exists) {}
  Res<std::shared_ptr<Node>> open(bool write, bool truncate) override {
    if (write || truncate || !exists_) {
      if (!m_->writable) return Errno::kRofs;
      return HostWriter::start(m_, rel_, exists_, truncate);
    }
    auto lease = FdLease::take(m_->fds, HostReader::kHostFds);
    if (!lease) return lease.err;
    // O_NONBLOCK: should a FIFO have replaced the file since the lookup,
    // opening it must not wait; the type is checked on what was opened.
    auto fd = m_->open(rel_, O_RDONLY | O_NONBLOCK | O_NOCTTY);
    if (!fd) return fd.err;
    auto s = fstat_of(fd.value.get());
    if (!s) return s.err;
    if (!S_ISREG(s.value.st_mode)) return S_ISDIR(s.value.st_mode) ? Errno::kIsdir : Errno::kNotsup;
    return std::shared_ptr<Node>(std::make_shared<HostReader>(m_, std::move(lease.value), std::move(fd.value)));
  }

 private:
  bool exists_;
};

class HostDir final : public HostPath {
 public:
  using HostPath::HostPath;

  Res<std::shared_ptr<Node>> lookup(std::string_view name) const override {
    if (!valid_name(name)) return Errno::kInval;
    if (reserved(name)) return Errno::kNoent;
    std::string rel = join(rel_, name);
    auto fd = m_->open(rel, O_PATH);  // follows symlinks, as long as they stay beneath the root
    if (!fd) return fd.err;
    auto s = fstat_of(fd.value.get());
    if (!s) return s.err;
    const auto kind = exposed_kind(s.value.st_mode);
    if (!kind) return Errno::kNotsup;
    if (*kind == Kind::kDirectory) {
      return std::shared_ptr<Node>(std::make_shared<HostDir>(m_, std::move(rel), to_stat(s.value)));
    }
    return std::shared_ptr<Node>(std::make_shared<HostFile>(m_, std::move(rel), to_stat(s.value), true));
  }

  /// Sorted by name, so fd_readdir cookies stay valid between calls. Entries
  /// that are not exposed (see lookup) are left out.
  Res<std::vector<DirEntry>> list() const override {
    auto fd = m_->open(rel_, O_RDONLY | O_DIRECTORY);
    if (!fd) return fd.err;
    auto self = fstat_of(fd.value.get());
    if (!self) return self.err;
    std::unique_ptr<DIR, int (*)(DIR*)> dir(fdopendir(fd.value.get()), closedir);
    if (!dir) return from_errno(errno);
    fd.value.release();
    std::vector<DirEntry> out;
    for (;;) {
      errno = 0;
      const dirent* e = readdir(dir.get());
      if (!e) {
        if (errno != 0) return from_errno(errno);
        break;
      }
      const std::string_view name = e->d_name;
      if (name == "." || name == ".." || reserved(name)) continue;
      if (e->d_type == DT_REG || e->d_type == DT_DIR) {
        out.push_back({std::string(name), e->d_type == DT_DIR ? Kind::kDirectory : Kind::kFile,
                       host_ino(self.value.st_dev, e->d_ino)});
        continue;
      }
      // Symlinks (and filesystems without d_type): what lookup would find.
      auto node = lookup(name);
      if (node) out.push_back({std::string(name), node.value->kind(), node.value->stat().ino});
    }
    std::sort(out.begin(), out.end(), [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
    return out;
  }

  Res<std::shared_ptr<Node>> create(std::string_view name, Kind kind) override {
    if (!valid_name(name)) return Errno::kInval;
    if (!m_->writable) return Errno::kRofs;
    if (reserved(name)) return Errno::kPerm;
    if (!m_->fits(kMountEntryCost)) return Errno::kDquot;
    if (kind == Kind::kFile) {
      // Nothing on the host yet: the file appears when the guest closes it.
      m_->charge(kMountEntryCost);
      Stat st;
      st.kind = Kind::kFile;
      st.ino = next_ino();
      st.atime_ns = st.mtime_ns = st.ctime_ns = now_ns();
      return std::shared_ptr<Node>(std::make_shared<HostFile>(m_, join(rel_, name), st, false));
    }
    auto dir = m_->open(rel_, O_PATH | O_DIRECTORY);
    if (!dir) return dir.err;
    const std::string n(name);
    if (mkdirat(dir.value.get(), n.c_str(), 0777) != 0) return from_errno(errno);
    m_->charge(kMountEntryCost);
    return lookup(name);
  }

  Errno remove(std::string_view name, Kind kind) override {
    if (!valid_name(name)) return Errno::kInval;
    if (!m_->writable) return Errno::kRofs;
    if (reserved(name)) return Errno::kNoent;
    auto dir = m_->open(rel_, O_PATH | O_DIRECTORY);
    if (!dir) return dir.err;
    const std::string n(name);
    const int flags = kind == Kind::kDirectory ? AT_REMOVEDIR : 0;
    return unlinkat(dir.value.get(), n.c_str(), flags) == 0 ? Errno::kSuccess : from_errno(errno);
  }

  // Renames and links stay inside one mount: across mounts (read-only to
  // read-write included) or to /tmp they are EXDEV, checked before EROFS.
  Errno rename(std::string_view name, Node& to_dir, std::string_view to_name) override {
    auto* dest = dynamic_cast<HostDir*>(&to_dir);
    if (!dest || dest->m_ != m_) return Errno::kXdev;
    if (!valid_name(name) || !valid_name(to_name)) return Errno::kInval;
    if (!m_->writable) return Errno::kRofs;
    if (reserved(name)) return Errno::kNoent;
    if (reserved(to_name)) return Errno::kPerm;
    auto from = m_->open(rel_, O_PATH | O_DIRECTORY);
    if (!from) return from.err;
    auto to = m_->open(dest->rel_, O_PATH | O_DIRECTORY);
    if (!to) return to.err;
    const std::string a(name), b(to_name);
    return renameat(from.value.get(), a.c_str(), to.value.get(), b.c_str()) == 0 ? Errno::kSuccess
                                                                                : from_errno(errno);
  }

  Errno link(std::string_view name, const std::shared_ptr<Node>& target) override {
    const auto* file = dynamic_cast<const HostFile*>(target.get());
    if (!file || file->mount() != m_.get()) {
      return target->kind() == Kind::kDirectory ? Errno::kPerm : Errno::kXdev;
    }
    if (!valid_name(name)) return Errno::kInval;
    if (!m_->writable) return Errno::kRofs;
    if (reserved(name)) return Errno::kPerm;
    if (!m_->fits(kMountEntryCost)) return Errno::kDquot;
    auto from = m_->open(parent_of(file->rel()), O_PATH | O_DIRECTORY);
    if (!from) return from.err;
    auto to = m_->open(rel_, O_PATH | O_DIRECTORY);
    if (!to) return to.err;
    const std::string n(name);
    if (linkat(from.value.get(), name_of(file->rel()).c_str(), to.value.get(), n.c_str(), 0) != 0) {
      return from_errno(errno);
    }
    m_->charge(kMountEntryCost);
    return Errno::kSuccess;
  }
};

}  // namespace

Result<std::shared_ptr<Node>> open_host_dir(const std::string& host_path, bool writable,
                                            std::shared_ptr<WriteQuota> quota, std::shared_ptr<FdBudget> fds) {
  const std::string what = "mount host_path \"" + host_path + "\": ";
  Fd root(::open(host_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (root.get() < 0) {
    const int e = errno;
    return Error(e == ENOENT || e == ENOTDIR ? ErrorCode::kNotFound : ErrorCode::kIo,
                 what + "open: " + std::strerror(e));
  }
  // Every access depends on openat2 (Linux 5.6): without it, no mount at all.
  open_how how{};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  const long probe = sys_openat2(root.get(), ".", how);
  if (probe < 0) return Error(ErrorCode::kIo, what + "openat2: " + std::strerror(errno));
  ::close(static_cast<int>(probe));
  auto s = fstat_of(root.get());
  if (!s) return Error(ErrorCode::kIo, what + "fstat failed");
  auto m = std::make_shared<MountRoot>(MountRoot{std::move(root), writable, std::move(quota), std::move(fds)});
  return std::shared_ptr<Node>(std::make_shared<HostDir>(std::move(m), std::string(), to_stat(s.value)));
}

bool is_host_node(const Node& node) { return dynamic_cast<const HostNode*>(&node) != nullptr; }

}  // namespace pycell::vfs
