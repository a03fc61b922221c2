// The slot arena packs slots densely in page-aligned slabs and reuses freed ones; Asio's
// reactor takes its per-socket states from one (asio_impl.cpp) where the build packs them.
#include <cstdint>
#include <set>
#include <vector>

#include <doctest/doctest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "pier/runtime/reactor_states.hpp"
#include "pier/runtime/slot_arena.hpp"

namespace pier::runtime {
namespace {

// Proves slots are carved side by side from page-aligned slabs, a slab at a time.
TEST_CASE("slot_arena: slots are packed in page-aligned slabs") {
    slot_arena arena(168, 8, 4096);
    CHECK(arena.slot_size() == 168);
    std::vector<void*> slots;
    for (int i = 0; i < 24; ++i) slots.push_back(arena.allocate());  // 4096 / 168 = 24 per slab
    CHECK(arena.slabs() == 1);
    CHECK(reinterpret_cast<std::uintptr_t>(slots[0]) % 4096 == 0);
    for (std::size_t i = 1; i < slots.size(); ++i) {
        CHECK(static_cast<std::byte*>(slots[i]) == static_cast<std::byte*>(slots[0]) + 168 * i);
    }
    slots.push_back(arena.allocate());
    CHECK(arena.slabs() == 2);
    CHECK(arena.slots_in_use() == 25);
    for (void* slot : slots) arena.deallocate(slot);
    CHECK(arena.slots_in_use() == 0);
}

// Proves a freed slot is reused before any new one, so the footprint follows the high-water
// mark, not the number of allocations ever made.
TEST_CASE("slot_arena: freed slots are reused") {
    slot_arena arena(40, 8, 4096);
    CHECK(arena.slot_size() == 40);
    void* a = arena.allocate();
    void* b = arena.allocate();
    arena.deallocate(a);
    CHECK(arena.allocate() == a);
    std::set<void*> seen{a, b};
    for (int round = 0; round < 1000; ++round) {
        void* c = arena.allocate();
        seen.insert(c);
        arena.deallocate(c);
    }
    CHECK(seen.size() == 3);
    CHECK(arena.slabs() == 1);
}

// Proves slot sizes are rounded up to the alignment asked for.
TEST_CASE("slot_arena: slots keep their alignment") {
    slot_arena arena(20, 16, 4096);
    CHECK(arena.slot_size() == 32);
    void* a = arena.allocate();
    void* b = arena.allocate();
    CHECK(reinterpret_cast<std::uintptr_t>(b) % 16 == 0);
    arena.deallocate(a);
    arena.deallocate(b);
}

// Proves the reactor's per-socket states come from the packed arena in a build that packs
// them: each socket opened adds one, and they stay allocated (for reuse) while the reactor
// lives.
TEST_CASE("slot_arena: the reactor's socket states are packed") {
    if (!reactor_states_packed()) {
        MESSAGE("this build takes the reactor's states from new (edge_reader's portable path)");
        return;
    }
    const std::size_t before = reactor_states_allocated();
    {
        boost::asio::io_context io;
        std::vector<boost::asio::ip::tcp::socket> sockets;
        for (int i = 0; i < 100; ++i) {
            sockets.emplace_back(io).open(boost::asio::ip::tcp::v4());
        }
        CHECK(reactor_states_allocated() == before + 100);
        sockets.clear();
        CHECK(reactor_states_allocated() == before + 100);  // the reactor keeps them for reuse
    }
    CHECK(reactor_states_allocated() == before);  // given back with the reactor
}

}  // namespace
}  // namespace pier::runtime
