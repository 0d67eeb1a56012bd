// Guest linear memory: the reservation the guest lives in, and the only way to
// move bytes across the boundary (bounds-checked, overflow-safe, copy-first).
#pragma once

#include <wasm-rt.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pycell/error.h"

namespace pycell::rt {

inline constexpr uint64_t kWasmPageBytes = 65536;
/// wasm_rt_memory_t::size is 32-bit in this wasm2c, so memory stays below 4 GiB.
inline constexpr uint64_t kMaxGuestBytes = (1ull << 32) - kWasmPageBytes;

/// A guest address. Never dereferenced directly: only GuestMemory turns it into bytes.
struct GuestPtr {
  uint32_t addr = 0;
};

/// A guest range that was checked against the memory's size when it was made.
/// Memory never shrinks, so it stays valid for the life of the instance.
class GuestSpan {
 public:
  [[nodiscard]] uint32_t addr() const { return addr_; }
  [[nodiscard]] uint32_t size() const { return size_; }

 private:
  friend class GuestMemory;
  GuestSpan(uint32_t a, uint32_t s) : addr_(a), size_(s) {}
  uint32_t addr_, size_;
};

/// Page ranges (4 KiB pages, [first, first+count)) of a linear memory.
struct PageRuns {
  std::vector<std::pair<uint32_t, uint32_t>> runs;
};

/// `a` and `b` together, as sorted, disjoint runs.
PageRuns merge(const PageRuns& a, const PageRuns& b);

/// An immutable copy of a linear memory, held in a sealed memfd so that any
/// number of GuestMemory objects can map it copy-on-write. Thread-safe.
class MemoryImage {
 public:
  /// Copies `bytes` (a memory's contents, whole wasm pages) into a new image;
  /// all-zero pages stay holes and cost nothing. Errors: kResourceExhausted.
  static Result<std::shared_ptr<const MemoryImage>> create(const uint8_t* bytes, uint64_t size);
  ~MemoryImage();
  MemoryImage(const MemoryImage&) = delete;
  MemoryImage& operator=(const MemoryImage&) = delete;

  [[nodiscard]] uint64_t size() const { return size_; }
  /// Copies the image's bytes [offset, offset+len) out (for serialization).
  [[nodiscard]] Result<void> read(uint64_t offset, void* dst, uint64_t len) const;

  /// The 4 KiB pages in which this image differs from `base` (null: from
  /// all zeros; past base's end the base reads as zeros), in `runs`, and for
  /// each, in order, its bytes XOR-ed with the base's: a session that changed
  /// a few bytes of a page leaves a page of mostly zeros, which compresses.
  /// With `only`, just those pages are compared (the caller knows the rest
  /// are equal).
  [[nodiscard]] Result<void> diff(const MemoryImage* base, const PageRuns* only,
                                  std::vector<std::pair<uint32_t, uint32_t>>& runs, std::string& xored) const;
  /// diff()'s inverse: an image of `size` bytes that is `base` (null: zeros)
  /// with the pages of `runs` replaced by their `xored` bytes XOR the base's.
  /// `runs` must be sorted, disjoint and inside `size`, and `xored` hold
  /// exactly their pages (kInvalidArgument otherwise). What it allocates on
  /// the heap is bounded by `xored`, however large `size` is.
  static Result<std::shared_ptr<const MemoryImage>> patch(const MemoryImage* base, uint64_t size,
                                                          const std::vector<std::pair<uint32_t, uint32_t>>& runs,
                                                          std::string_view xored);

 private:
  friend class GuestMemory;
  MemoryImage(int fd, uint64_t size) : fd_(fd), size_(size) {}
  int fd_;
  uint64_t size_;
};


/// The pages a typical first exec reads and writes, learned once per engine.
struct HotPages {
  PageRuns touched;  // mapped at all (read or written)
  PageRuns written;  // copied on write
};

/// Linear memory of one instance: an 8 GiB+ PROT_NONE reservation (so every
/// 32-bit address plus 32-bit offset the generated code forms lands inside it and
/// out-of-bounds accesses fault instead of needing checks), with the live pages
/// read-write. Owns the mapping.
class GuestMemory {
 public:
  /// Reserves and commits `initial_pages`; growth past `cap_bytes` fails.
  static Result<std::unique_ptr<GuestMemory>> create(uint32_t initial_pages, uint64_t cap_bytes);
  /// Reserves and maps `image` copy-on-write: pages are shared with the image
  /// until written. Errors: kInvalidArgument if the image exceeds the cap.
  static Result<std::unique_ptr<GuestMemory>> create(std::shared_ptr<const MemoryImage> image, uint64_t cap_bytes);
  /// Snapshots the current contents.
  [[nodiscard]] Result<std::shared_ptr<const MemoryImage>> capture() const;

  /// Which pages are mapped and which were copied on write since the image was
  /// mapped (from /proc/self/pagemap). Errors: kIo if pagemap is unreadable.
  [[nodiscard]] Result<HotPages> residency() const;
  /// The pages that may no longer equal the mapped image's: copied on write
  /// (present or swapped out), or past the image's end and touched. Errors:
  /// kIo if pagemap is unreadable.
  [[nodiscard]] Result<PageRuns> written() const;
  /// Maps `hot` ahead of time in a few batched calls instead of one fault per
  /// page (on VMs a fault costs microseconds). Best effort: kernels without
  /// MADV_POPULATE_* simply fault later.
  void prefault(const HotPages& hot);
  ~GuestMemory();
  GuestMemory(const GuestMemory&) = delete;
  GuestMemory& operator=(const GuestMemory&) = delete;

  /// The wasm2c view handed to the generated code (first member: see from_rt).
  wasm_rt_memory_t* rt() { return &rt_; }
  static GuestMemory* from_rt(wasm_rt_memory_t* m) { return reinterpret_cast<GuestMemory*>(m); }

  /// Current size in bytes, and the largest it has been.
  [[nodiscard]] uint64_t size() const { return rt_.size; }
  [[nodiscard]] uint64_t peak() const { return peak_; }
  /// memory.grow: returns the old page count, or UINT32_MAX past the cap.
  uint32_t grow(uint32_t delta_pages);
  /// How many grows were refused (past the cap, or the host out of memory).
  [[nodiscard]] uint64_t refused_grows() const { return refused_grows_; }

  /// True if `addr` (a host address) lies in this memory's reservation.
  [[nodiscard]] bool reservation_contains(const void* addr) const;

  /// Checks [addr, addr+len) against the current size, overflow-safe.
  [[nodiscard]] Result<GuestSpan> span(uint32_t addr, uint64_t len) const;
  /// Checks an array of `count` elements of `elem` bytes, overflow-safe.
  [[nodiscard]] Result<GuestSpan> array(uint32_t addr, uint64_t count, uint64_t elem) const;

  /// Copies guest bytes out (the host then validates its own copy).
  void read(GuestSpan s, void* dst) const;
  [[nodiscard]] std::string read_string(GuestSpan s) const;
  /// Copies host bytes in; the host never writes host pointers this way.
  void write(GuestSpan s, const void* src);
  /// Sets the bytes of `s` to zero.
  void zero(GuestSpan s);
  /// Little-endian scalars at a checked address.
  [[nodiscard]] Result<uint32_t> load_u32(uint32_t addr) const;
  [[nodiscard]] Result<void> store_u32(uint32_t addr, uint32_t v);
  [[nodiscard]] Result<void> store_u64(uint32_t addr, uint64_t v);
  [[nodiscard]] Result<void> store_bytes(uint32_t addr, const void* src, uint64_t len);

 private:
  GuestMemory() = default;
  static Result<std::unique_ptr<GuestMemory>> reserve(uint64_t cap_bytes);
  wasm_rt_memory_t rt_{};  // must stay the first member
  std::shared_ptr<const MemoryImage> image_;  // mapped at the base, if any
  uint8_t* base_ = nullptr;
  uint64_t reserved_ = 0;
  uint64_t peak_ = 0;
  uint64_t refused_grows_ = 0;
};

}  // namespace pycell::rt
