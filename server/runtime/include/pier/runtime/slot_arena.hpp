// A fixed-size slot allocator that packs its objects densely: slots are carved from slabs of
// many slots each, and a freed slot is kept on a free list for the next allocation.
//
// Why: Asio's epoll reactor keeps one state object per socket it has ever had open at once and
// never frees them (their memory must stay valid for events still in flight; they are reused).
// Allocated with plain `new`, 10,000 of them lie scattered among the connections' other
// allocations, and after those connections close every heap page still holds one or two: malloc
// can give none of those pages back (bench/README.md, burst_rss.py). From slabs they fill
// ~1.6 MiB of pages of their own and the rest of the heap can be returned (asio_impl.cpp).
//
// Slabs are released only when the arena is destroyed. Thread-safe: any thread may allocate and
// free; a mutex guards the lists (taken only when a reactor's pool grows or shuts down).
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

namespace pier::runtime {

class slot_arena {
public:
    /// Slots of `slot_size` bytes aligned to `slot_alignment` (a power of two), carved from
    /// slabs of `slab_bytes` (at least one slot) aligned to a page, so that a slab shares no
    /// page with other allocations.
    slot_arena(std::size_t slot_size, std::size_t slot_alignment, std::size_t slab_bytes);
    slot_arena(const slot_arena&) = delete;
    slot_arena& operator=(const slot_arena&) = delete;
    ~slot_arena();

    /// Uninitialized storage for one object of at most slot_size() bytes; throws bad_alloc.
    void* allocate();
    /// Returns a slot from allocate() for reuse (the object in it already destroyed).
    void deallocate(void* slot) noexcept;

    std::size_t slot_size() const { return slot_size_; }
    /// Slabs allocated so far: their slots are the arena's whole footprint.
    std::size_t slabs() const;
    /// Slots allocated and not yet deallocated.
    std::size_t slots_in_use() const;

private:
    struct free_slot {
        free_slot* next;
    };
    struct slab_deleter {
        std::size_t bytes;
        void operator()(std::byte* slab) const noexcept;
    };

    const std::size_t slot_size_;
    const std::size_t slots_per_slab_;
    const std::size_t slab_bytes_;  ///< mapped per slab: its slots, rounded up to a page
    mutable std::mutex mutex_;
    std::vector<std::unique_ptr<std::byte, slab_deleter>> slabs_;
    free_slot* free_ = nullptr;    ///< slots freed, reused first (LIFO)
    std::size_t next_unused_ = 0;  ///< next never-used slot of the newest slab
    std::size_t in_use_ = 0;
};

}  // namespace pier::runtime
