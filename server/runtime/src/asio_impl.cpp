// Asio's separately compiled sources (BOOST_ASIO_SEPARATE_COMPILATION): built once here so the
// other translation units only instantiate templates.
//
// On the epoll reactor, also where the reactor's per-socket states come from. Asio keeps them
// in an object_pool that reuses them and never frees one while the reactor lives (an event
// still in flight may name one). Created with `new`, the states of a burst of connections lie
// one or two per heap page among the connections' other allocations; after the burst those
// pages cannot be returned to the kernel (bench/README.md, "burst_rss.py"). They are created
// here instead, from a slot_arena that packs them into slabs of their own. This replaces
// object_pool_access::create/destroy for that one type, and is built only where the reactor
// path of edge_reader is (server/edge_reader.cmake: a Boost whose internals were checked);
// elsewhere they come from `new` as before. Only this translation unit instantiates them:
// the object_pool's alloc() and destructor are called from epoll_reactor.ipp alone.
#include "pier/runtime/reactor_states.hpp"

#if defined(PIER_EDGE_READER_REACTOR)
#include <boost/asio/detail/epoll_reactor.hpp>

#include "pier/runtime/slot_arena.hpp"

#if defined(BOOST_ASIO_HAS_EPOLL) && !defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
#define PIER_PACKED_DESCRIPTOR_STATES 1
#endif
#endif

#if defined(PIER_PACKED_DESCRIPTOR_STATES)
namespace boost::asio::detail {
namespace {

pier::runtime::slot_arena& descriptor_state_arena() {
    // 64KiB slabs: 390 states of 168 bytes (Boost 1.81, x86-64) each. Never destroyed:
    // io_contexts with static storage may shut their reactors down after this file's statics.
    static auto* arena =
        new pier::runtime::slot_arena(sizeof(epoll_reactor::descriptor_state),
                                      alignof(epoll_reactor::descriptor_state), 64 * 1024);
    return *arena;
}

}  // namespace

template <>
epoll_reactor::descriptor_state* object_pool_access::create<epoll_reactor::descriptor_state, bool>(
    bool locking) {
    void* slot = descriptor_state_arena().allocate();
    try {
        return ::new (slot) epoll_reactor::descriptor_state(locking);
    } catch (...) {
        descriptor_state_arena().deallocate(slot);
        throw;
    }
}

template <>
void object_pool_access::destroy<epoll_reactor::descriptor_state>(
    epoll_reactor::descriptor_state* o) {
    o->~descriptor_state();
    descriptor_state_arena().deallocate(o);
}

}  // namespace boost::asio::detail

bool pier::runtime::reactor_states_packed() { return true; }

std::size_t pier::runtime::reactor_states_allocated() {
    return boost::asio::detail::descriptor_state_arena().slots_in_use();
}
#else
bool pier::runtime::reactor_states_packed() { return false; }

std::size_t pier::runtime::reactor_states_allocated() { return 0; }
#endif

#include <boost/asio/impl/src.hpp>
