// chunk_sink: where an edge_reader's forwarding read hands each chunk it reads
// (edge_reader.hpp). A plain function pointer and context, so that either edge_reader path can
// call it from wherever it performs the read, with no allocation.
#pragma once

#include <cstddef>

namespace pier::net {

/// Where a forwarding read hands each chunk it reads. take() returns true when it took the
/// whole chunk (the read goes on), false to complete the read with it. On the reactor path
/// take() runs on whichever thread performs the read, while the socket's executor may run
/// other code at the same time: it may touch only what nothing else touches meanwhile (its
/// own state, atomics, system calls on another socket's descriptor, or on this one when no
/// other operation is pending on it, as the echo sends back). It must not throw.
struct chunk_sink {
    /// `more`: the kernel said bytes (or a FIN) are already queued behind this chunk, and the
    /// read goes on at once if the chunk is taken, so a send of it may ask the kernel to hold
    /// it for the next (MSG_MORE). False when unknown, and for the last chunk of a run.
    bool (*take)(void* context, const char* data, std::size_t size, bool more) noexcept = nullptr;
    void* context = nullptr;
};

/// How much a forwarding read hands over in a row while more is waiting, before it completes
/// with the last chunk (taken) so that the worker serves its other connections: a stream that
/// never pauses holds the worker for at most this many reads, or about this many bytes, at a
/// time. 16 reads, 256KiB: with the proxy's 16KiB chunks both, a fraction of a millisecond of
/// system calls; past that, the completion and the return to epoll_wait it saves are a few
/// percent of the bytes' cost.
inline constexpr unsigned max_chunks_in_a_row = 16;
inline constexpr std::size_t max_bytes_in_a_row = 256 * 1024;

/// A chunk_sink handing each chunk to `taker.take(data, size, more)`, or to
/// `taker.take(data, size)` for a taker that has no use for `more`; take() must be noexcept.
template <typename Taker>
chunk_sink sink_to(Taker& taker) {
    if constexpr (requires { taker.take(nullptr, std::size_t{}, bool{}); }) {
        static_assert(noexcept(taker.take(nullptr, std::size_t{}, bool{})),
                      "take() must not throw");
        return {[](void* self, const char* data, std::size_t size, bool more) noexcept {
                    return static_cast<Taker*>(self)->take(data, size, more);
                },
                &taker};
    } else {
        static_assert(noexcept(taker.take(nullptr, std::size_t{})), "take() must not throw");
        return {[](void* self, const char* data, std::size_t size, bool) noexcept {
                    return static_cast<Taker*>(self)->take(data, size);
                },
                &taker};
    }
}

}  // namespace pier::net
