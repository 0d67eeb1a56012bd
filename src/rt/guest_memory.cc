// Guest linear memory: the one file that does raw guest-memory address arithmetic.
#include "rt/guest_memory.h"

#include <sys/mman.h>

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

Result<std::unique_ptr<GuestMemory>> GuestMemory::create(uint32_t initial_pages,
                                                         uint64_t cap_bytes) {
  if (cap_bytes > kMaxGuestBytes) cap_bytes = kMaxGuestBytes;
  const uint64_t initial = uint64_t{initial_pages} * kWasmPageBytes;
  if (initial > cap_bytes) {
    return Error(ErrorCode::kInvalidArgument,
                 "memory limit " + std::to_string(cap_bytes) + " is below the guest's initial " +
                     std::to_string(initial) + " bytes");
  }
  void* p = mmap(nullptr, kReservationBytes, PROT_NONE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    return Error(ErrorCode::kResourceExhausted,
                 std::string("mmap(guest reservation): ") + std::strerror(errno));
  }
  std::unique_ptr<GuestMemory> m(new GuestMemory());
  m->base_ = static_cast<uint8_t*>(p);
  m->reserved_ = kReservationBytes;
  m->cap_ = cap_bytes;
  if (initial && mprotect(p, initial, PROT_READ | PROT_WRITE) != 0) {
    return Error(ErrorCode::kResourceExhausted,
                 std::string("mprotect(guest memory): ") + std::strerror(errno));
  }
  m->rt_.data = m->base_;
  m->rt_.pages = initial_pages;
  m->rt_.max_pages = static_cast<uint32_t>(cap_bytes / kWasmPageBytes);
  m->rt_.size = static_cast<uint32_t>(initial);
  m->peak_ = initial;
  return m;
}

GuestMemory::~GuestMemory() {
  if (base_) munmap(base_, reserved_);
}

uint32_t GuestMemory::grow(uint32_t delta) {
  const uint32_t old_pages = rt_.pages;
  const uint64_t new_pages = uint64_t{old_pages} + delta;
  if (new_pages > rt_.max_pages) return UINT32_MAX;
  if (delta == 0) return old_pages;
  const uint64_t old_bytes = uint64_t{old_pages} * kWasmPageBytes;
  const uint64_t new_bytes = new_pages * kWasmPageBytes;
  if (mprotect(base_ + old_bytes, new_bytes - old_bytes, PROT_READ | PROT_WRITE) != 0) {
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
