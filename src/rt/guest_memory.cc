// Guest linear memory: the one file that does raw guest-memory address arithmetic.
#include "rt/guest_memory.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <type_traits>

namespace pycell::rt {

static_assert(std::is_standard_layout_v<wasm_rt_memory_t>);

namespace {
// Generated code forms addr(u32) + offset(u32) + access size(<=16): keep all of
// it inside the reservation so any out-of-bounds access faults on PROT_NONE.
constexpr uint64_t kReservationBytes = (8ull << 30) + kWasmPageBytes;

Error oob(const char* what, uint32_t addr, uint64_t len, uint64_t size) {
  return Error(ErrorCode::kGuest, std::string(what) + ": guest range [" + std::to_string(addr) +
                                      ", +" + std::to_string(len) + ") outside memory of " +
                                      std::to_string(size) + " bytes");
}
}  // namespace

Result<std::shared_ptr<const MemoryImage>> MemoryImage::create(const uint8_t* bytes, uint64_t size) {
  int fd = memfd_create("pycell-snapshot", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return Error(ErrorCode::kResourceExhausted, std::string("memfd_create: ") + std::strerror(errno));
  std::shared_ptr<const MemoryImage> image(new MemoryImage(fd, size));
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
    return Error(ErrorCode::kResourceExhausted, std::string("ftruncate(snapshot): ") + std::strerror(errno));
  }
  // Write only pages with data: zero pages stay holes in the memfd.
  constexpr uint64_t kPage = 4096;
  static const uint8_t kZero[kPage] = {};
  uint64_t run_start = 0;
  bool in_run = false;
  auto flush = [&](uint64_t end) -> bool {
    for (uint64_t at = run_start; at < end;) {
      ssize_t n = pwrite(fd, bytes + at, end - at, static_cast<off_t>(at));
      if (n <= 0) {
        if (n < 0 && errno == EINTR) continue;
        return false;
      }
      at += static_cast<uint64_t>(n);
    }
    return true;
  };
  for (uint64_t at = 0; at < size; at += kPage) {
    const bool zero = std::memcmp(bytes + at, kZero, std::min(kPage, size - at)) == 0;
    if (!zero && !in_run) {
      run_start = at;
      in_run = true;
    } else if (zero && in_run) {
      if (!flush(at)) return Error(ErrorCode::kResourceExhausted, std::string("pwrite(snapshot): ") + std::strerror(errno));
      in_run = false;
    }
  }
  if (in_run && !flush(size)) {
    return Error(ErrorCode::kResourceExhausted, std::string("pwrite(snapshot): ") + std::strerror(errno));
  }
  // Sealed: no mapping or descriptor can change what every session starts from.
  if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
    return Error(ErrorCode::kResourceExhausted, std::string("F_ADD_SEALS: ") + std::strerror(errno));
  }
  return image;
}

MemoryImage::~MemoryImage() { close(fd_); }

Result<void> MemoryImage::read(uint64_t offset, void* dst, uint64_t len) const {
  if (offset > size_ || len > size_ - offset) return Error(ErrorCode::kInvalidArgument, "image read out of range");
  auto* out = static_cast<uint8_t*>(dst);
  for (uint64_t done = 0; done < len;) {
    ssize_t n = pread(fd_, out + done, len - done, static_cast<off_t>(offset + done));
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return Error(ErrorCode::kIo, std::string("pread(snapshot): ") + std::strerror(errno));
    }
    done += static_cast<uint64_t>(n);
  }
  return Ok();
}

namespace {
constexpr uint64_t kDiffPage = 4096;
constexpr uint64_t kCopyChunk = 1 << 20;

Result<void> pwrite_all(int fd, const uint8_t* p, uint64_t n, uint64_t at) {
  for (uint64_t done = 0; done < n;) {
    ssize_t w = pwrite(fd, p + done, n - done, static_cast<off_t>(at + done));
    if (w <= 0) {
      if (w < 0 && errno == EINTR) continue;
      return Error(ErrorCode::kResourceExhausted, std::string("pwrite(snapshot): ") + std::strerror(errno));
    }
    done += static_cast<uint64_t>(w);
  }
  return Ok();
}

/// Whether [at, at+n) of `fd` is all hole (reads as zeros, holds no page).
bool all_hole(int fd, uint64_t at, uint64_t n) {
  off_t data = lseek(fd, static_cast<off_t>(at), SEEK_DATA);
  return (data < 0 && errno == ENXIO) || (data >= 0 && static_cast<uint64_t>(data) >= at + n);
}

void xor_into(uint8_t* dst, const uint8_t* src, uint64_t n) {
  for (uint64_t i = 0; i < n; i += 8) {
    uint64_t a, b;
    std::memcpy(&a, dst + i, 8);
    std::memcpy(&b, src + i, 8);
    a ^= b;
    std::memcpy(dst + i, &a, 8);
  }
}
}  // namespace

PageRuns merge(const PageRuns& a, const PageRuns& b) {
  std::vector<std::pair<uint32_t, uint32_t>> all(a.runs);
  all.insert(all.end(), b.runs.begin(), b.runs.end());
  std::sort(all.begin(), all.end());
  PageRuns out;
  for (const auto& [first, count] : all) {
    const uint64_t end = uint64_t{first} + count;
    if (!out.runs.empty() && first <= uint64_t{out.runs.back().first} + out.runs.back().second) {
      auto& last = out.runs.back();
      last.second = static_cast<uint32_t>(std::max<uint64_t>(uint64_t{last.first} + last.second, end) - last.first);
    } else {
      out.runs.emplace_back(first, count);
    }
  }
  return out;
}

Result<void> MemoryImage::diff(const MemoryImage* base, const PageRuns* only,
                               std::vector<std::pair<uint32_t, uint32_t>>& runs, std::string& xored) const {
  const uint64_t base_size = base ? base->size_ : 0;
  std::vector<uint8_t> mine(kCopyChunk), theirs(kCopyChunk);
  // Compares [at, at+n) (n <= kCopyChunk, whole pages) page by page.
  auto compare = [&](uint64_t at, uint64_t n) -> Result<void> {
    const uint64_t bn = at < base_size ? std::min(n, base_size - at) : 0;
    // Ranges that are holes in both images are equal: most of a large memory.
    if (all_hole(fd_, at, n) && (bn == 0 || all_hole(base->fd_, at, bn))) return Ok();
    if (auto r = read(at, mine.data(), n); !r) return r;
    if (bn) {
      if (auto r = base->read(at, theirs.data(), bn); !r) return r;
    }
    std::memset(theirs.data() + bn, 0, n - bn);
    for (uint64_t p = 0; p < n; p += kDiffPage) {
      if (std::memcmp(mine.data() + p, theirs.data() + p, kDiffPage) == 0) continue;
      const auto page = static_cast<uint32_t>((at + p) / kDiffPage);
      if (!runs.empty() && runs.back().first + runs.back().second == page) {
        ++runs.back().second;
      } else {
        runs.emplace_back(page, 1);
      }
      xor_into(mine.data() + p, theirs.data() + p, kDiffPage);
      xored.append(reinterpret_cast<const char*>(mine.data() + p), kDiffPage);
    }
    return Ok();
  };
  if (!only) {
    for (uint64_t at = 0; at < size_; at += kCopyChunk) {
      if (auto r = compare(at, std::min(kCopyChunk, size_ - at)); !r) return r;
    }
    return Ok();
  }
  for (const auto& [first, count] : only->runs) {
    const uint64_t end = std::min(size_, (uint64_t{first} + count) * kDiffPage);
    for (uint64_t at = uint64_t{first} * kDiffPage; at < end; at += kCopyChunk) {
      if (auto r = compare(at, std::min(kCopyChunk, end - at)); !r) return r;
    }
  }
  return Ok();
}

Result<std::shared_ptr<const MemoryImage>> MemoryImage::patch(const MemoryImage* base, uint64_t size,
                                                              const std::vector<std::pair<uint32_t, uint32_t>>& runs,
                                                              std::string_view xored) {
  if (size % kWasmPageBytes || size > kMaxGuestBytes) {
    return Error(ErrorCode::kInvalidArgument, "memory size " + std::to_string(size) + " is not a valid wasm memory");
  }
  uint64_t next = 0, pages = 0;
  for (const auto& [first, count] : runs) {
    if (count == 0 || first < next || uint64_t{first} + count > size / kDiffPage) {
      return Error(ErrorCode::kInvalidArgument, "page runs are unsorted, overlapping or outside the memory");
    }
    next = uint64_t{first} + count;
    pages += count;
  }
  if (pages * kDiffPage != xored.size()) {
    return Error(ErrorCode::kInvalidArgument, "page runs name " + std::to_string(pages) + " pages, the data holds " +
                                                  std::to_string(xored.size()) + " bytes");
  }
  int fd = memfd_create("pycell-snapshot", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return Error(ErrorCode::kResourceExhausted, std::string("memfd_create: ") + std::strerror(errno));
  std::shared_ptr<const MemoryImage> image(new MemoryImage(fd, size));
  if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
    return Error(ErrorCode::kResourceExhausted, std::string("ftruncate(snapshot): ") + std::strerror(errno));
  }
  const uint64_t base_size = base ? std::min(base->size_, size) : 0;
  std::vector<uint8_t> buf(kCopyChunk);
  for (uint64_t at = 0; at < base_size; at += kCopyChunk) {
    const uint64_t n = std::min(kCopyChunk, base_size - at);
    if (all_hole(base->fd_, at, n)) continue;  // stays a hole here too
    if (auto r = base->read(at, buf.data(), n); !r) return r.error();
    if (auto r = pwrite_all(fd, buf.data(), n, at); !r) return r.error();
  }
  const auto* delta = reinterpret_cast<const uint8_t*>(xored.data());
  for (const auto& [first, count] : runs) {
    for (uint64_t page = first; page < uint64_t{first} + count; ++page, delta += kDiffPage) {
      const uint64_t at = page * kDiffPage;
      std::memset(buf.data(), 0, kDiffPage);
      if (at < base_size) {
        if (auto r = base->read(at, buf.data(), kDiffPage); !r) return r.error();
      }
      xor_into(buf.data(), delta, kDiffPage);
      if (auto r = pwrite_all(fd, buf.data(), kDiffPage, at); !r) return r.error();
    }
  }
  if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
    return Error(ErrorCode::kResourceExhausted, std::string("F_ADD_SEALS: ") + std::strerror(errno));
  }
  return image;
}

Result<std::unique_ptr<GuestMemory>> GuestMemory::reserve(uint64_t cap_bytes) {
  void* p = mmap(nullptr, kReservationBytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    return Error(ErrorCode::kResourceExhausted, std::string("mmap(guest reservation): ") + std::strerror(errno));
  }
  std::unique_ptr<GuestMemory> m(new GuestMemory());
  m->base_ = static_cast<uint8_t*>(p);
  m->reserved_ = kReservationBytes;
  m->rt_.data = m->base_;
  m->rt_.max_pages = static_cast<uint32_t>(std::min(cap_bytes, kMaxGuestBytes) / kWasmPageBytes);
  return m;
}

Result<std::unique_ptr<GuestMemory>> GuestMemory::create(uint32_t initial_pages, uint64_t cap_bytes) {
  const uint64_t initial = uint64_t{initial_pages} * kWasmPageBytes;
  if (initial > std::min(cap_bytes, kMaxGuestBytes)) {
    return Error(ErrorCode::kInvalidArgument,
                 "memory limit " + std::to_string(cap_bytes) + " is below the guest's initial " +
                     std::to_string(initial) + " bytes");
  }
  auto m = reserve(cap_bytes);
  if (!m) return m.error();
  auto& mem = *m;
  if (initial && mprotect(mem->base_, initial, PROT_READ | PROT_WRITE) != 0) {
    return Error(ErrorCode::kResourceExhausted, std::string("mprotect(guest memory): ") + std::strerror(errno));
  }
  mem->rt_.pages = initial_pages;
  mem->rt_.size = static_cast<uint32_t>(initial);
  mem->peak_ = initial;
  return std::move(mem);
}

Result<std::unique_ptr<GuestMemory>> GuestMemory::create(std::shared_ptr<const MemoryImage> image,
                                                         uint64_t cap_bytes) {
  if (image->size() > std::min(cap_bytes, kMaxGuestBytes) || image->size() % kWasmPageBytes) {
    return Error(ErrorCode::kInvalidArgument, "memory limit " + std::to_string(cap_bytes) +
                                                  " is below the snapshot's " + std::to_string(image->size()) +
                                                  " bytes");
  }
  auto m = reserve(cap_bytes);
  if (!m) return m.error();
  auto& mem = *m;
  if (image->size() &&
      mmap(mem->base_, image->size(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, image->fd_, 0) == MAP_FAILED) {
    return Error(ErrorCode::kResourceExhausted, std::string("mmap(snapshot): ") + std::strerror(errno));
  }
  mem->rt_.pages = static_cast<uint32_t>(image->size() / kWasmPageBytes);
  mem->rt_.size = static_cast<uint32_t>(image->size());
  mem->peak_ = image->size();
  mem->image_ = std::move(image);
  return std::move(mem);
}

Result<std::shared_ptr<const MemoryImage>> GuestMemory::capture() const {
  return MemoryImage::create(base_, rt_.size);
}

namespace {
constexpr uint64_t kHostPage = 4096;

void add_page(PageRuns& p, uint32_t page) {
  if (!p.runs.empty() && p.runs.back().first + p.runs.back().second == page) {
    ++p.runs.back().second;
  } else {
    p.runs.emplace_back(page, 1);
  }
}
}  // namespace

Result<HotPages> GuestMemory::residency() const {
  int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error(ErrorCode::kIo, std::string("open(/proc/self/pagemap): ") + std::strerror(errno));
  const uint64_t pages = rt_.size / kHostPage;
  std::vector<uint64_t> entries(pages);
  const auto first = reinterpret_cast<uintptr_t>(base_) / kHostPage;
  const ssize_t want = static_cast<ssize_t>(pages * sizeof(uint64_t));
  const ssize_t got = pread(fd, entries.data(), static_cast<size_t>(want), static_cast<off_t>(first * sizeof(uint64_t)));
  close(fd);
  if (got != want) return Error(ErrorCode::kIo, "short read from /proc/self/pagemap");
  HotPages hot;
  for (uint64_t i = 0; i < pages; ++i) {
    constexpr uint64_t kPresent = 1ull << 63, kFileOrShared = 1ull << 61;
    if (!(entries[i] & kPresent)) continue;
    add_page(hot.touched, static_cast<uint32_t>(i));
    if (!(entries[i] & kFileOrShared)) add_page(hot.written, static_cast<uint32_t>(i));  // now anonymous: a copy
  }
  return hot;
}

Result<PageRuns> GuestMemory::written() const {
  int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error(ErrorCode::kIo, std::string("open(/proc/self/pagemap): ") + std::strerror(errno));
  const uint64_t pages = rt_.size / kHostPage;
  const uint64_t image_pages = image_ ? image_->size() / kHostPage : 0;
  std::vector<uint64_t> entries(pages);
  const auto first = reinterpret_cast<uintptr_t>(base_) / kHostPage;
  const ssize_t want = static_cast<ssize_t>(pages * sizeof(uint64_t));
  const ssize_t got = pread(fd, entries.data(), static_cast<size_t>(want), static_cast<off_t>(first * sizeof(uint64_t)));
  close(fd);
  if (got != want) return Error(ErrorCode::kIo, "short read from /proc/self/pagemap");
  PageRuns out;
  for (uint64_t i = 0; i < pages; ++i) {
    constexpr uint64_t kPresent = 1ull << 63, kSwapped = 1ull << 62, kFileOrShared = 1ull << 61;
    // A page of the image not yet copied is file-backed; a copy is anonymous,
    // in memory or in swap. Past the image everything is anonymous.
    const bool copied = (entries[i] & kSwapped) || ((entries[i] & kPresent) && !(entries[i] & kFileOrShared));
    const bool touched_past_image = i >= image_pages && (entries[i] & (kPresent | kSwapped));
    if (copied || touched_past_image) add_page(out, static_cast<uint32_t>(i));
  }
  return out;
}

void GuestMemory::prefault(const HotPages& hot) {
#if defined(MADV_POPULATE_READ) && defined(MADV_POPULATE_WRITE)
  const uint64_t limit = rt_.size / kHostPage;
  auto apply = [&](const PageRuns& p, int advice) {
    for (const auto& [page, count] : p.runs) {
      if (page >= limit || count > limit - page) continue;
      if (madvise(base_ + uint64_t{page} * kHostPage, uint64_t{count} * kHostPage, advice) != 0) return;
    }
  };
  apply(hot.written, MADV_POPULATE_WRITE);
  apply(hot.touched, MADV_POPULATE_READ);
#else
  (void)hot;
#endif
}

GuestMemory::~GuestMemory() {
  if (base_) munmap(base_, reserved_);
}

uint32_t GuestMemory::grow(uint32_t delta) {
  const uint32_t old_pages = rt_.pages;
  const uint64_t new_pages = uint64_t{old_pages} + delta;
  if (new_pages > rt_.max_pages) {
    ++refused_grows_;
    return UINT32_MAX;
  }
  if (delta == 0) return old_pages;
  const uint64_t old_bytes = uint64_t{old_pages} * kWasmPageBytes;
  const uint64_t new_bytes = new_pages * kWasmPageBytes;
  if (mprotect(base_ + old_bytes, new_bytes - old_bytes, PROT_READ | PROT_WRITE) != 0) {
    ++refused_grows_;
    return UINT32_MAX;  // the host is out of memory: the guest sees a failed grow
  }
  rt_.pages = static_cast<uint32_t>(new_pages);
  rt_.size = static_cast<uint32_t>(new_bytes);
  if (new_bytes > peak_) peak_ = new_bytes;
  return old_pages;
}

bool GuestMemory::reservation_contains(const void* addr) const {
  auto a = reinterpret_cast<uintptr_t>(addr), b = reinterpret_cast<uintptr_t>(base_);
  return a >= b && a - b < reserved_;
}

Result<GuestSpan> GuestMemory::span(uint32_t addr, uint64_t len) const {
  const uint64_t size = rt_.size;
  if (len > size || addr > size - len) return oob("span", addr, len, size);
  return GuestSpan(addr, static_cast<uint32_t>(len));
}

Result<GuestSpan> GuestMemory::array(uint32_t addr, uint64_t count, uint64_t elem) const {
  if (elem != 0 && count > kMaxGuestBytes / elem) return oob("array", addr, UINT64_MAX, rt_.size);
  return span(addr, count * elem);
}

void GuestMemory::read(GuestSpan s, void* dst) const {
  if (s.size()) std::memcpy(dst, base_ + s.addr(), s.size());
}

std::string GuestMemory::read_string(GuestSpan s) const {
  std::string out(s.size(), '\0');
  read(s, out.data());
  return out;
}

void GuestMemory::write(GuestSpan s, const void* src) {
  if (s.size()) std::memcpy(base_ + s.addr(), src, s.size());
}

void GuestMemory::zero(GuestSpan s) {
  if (s.size()) std::memset(base_ + s.addr(), 0, s.size());
}

Result<uint32_t> GuestMemory::load_u32(uint32_t addr) const {
  auto s = span(addr, 4);
  if (!s) return s.error();
  uint32_t v;
  read(*s, &v);
  return v;
}

Result<void> GuestMemory::store_bytes(uint32_t addr, const void* src, uint64_t len) {
  auto s = span(addr, len);
  if (!s) return s.error();
  write(*s, src);
  return Ok();
}

Result<void> GuestMemory::store_u32(uint32_t addr, uint32_t v) { return store_bytes(addr, &v, 4); }
Result<void> GuestMemory::store_u64(uint32_t addr, uint64_t v) { return store_bytes(addr, &v, 8); }

}  // namespace pycell::rt
