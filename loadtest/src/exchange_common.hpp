// What pierload's two connection drivers share: the Asio sessions (session.cpp: every mode)
// and the epoll loop (epoll_client.cpp: closed-loop echo and line, where client CPU per
// request matters most). Message contents and their verification, the in-flight ring,
// reconnect backoff and error classification are defined once here so both drivers send the
// same bytes and count the same way. Private to the runner.
#pragma once

#include <algorithm>
#include <atomic>
#include <boost/system/error_code.hpp>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "pierload/stats.hpp"

namespace pierload::detail {

using steady = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Reconnect backoff: 10ms after the first failure, doubling to 1s, so a refusing or crashing
// server costs a few connects a second per slot instead of a busy loop.
inline constexpr steady::duration min_backoff = 10ms;
inline constexpr steady::duration max_backoff = 1s;

/// Echo messages up to this size are copied into one buffer and sent with send() instead of a
/// two-part sendmsg() (the copy is cheaper than the kernel's second iovec).
inline constexpr std::size_t contiguous_limit = 1024;

/// A line response longer than this is an error: 1MiB covers any sane line protocol.
inline constexpr std::size_t max_line = 1 << 20;

inline std::uint64_t to_ns(steady::duration d) {
    return static_cast<std::uint64_t>(
        std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::nanoseconds>(d).count()));
}

inline steady::duration seconds(double s) {
    return std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(s));
}

/// How a failed system call (errno value) is counted.
inline error_kind classify_errno(int error) {
    switch (error) {
        case ECONNREFUSED: return error_kind::refused;
        case ECONNRESET:
        case EPIPE:
        case ECONNABORTED: return error_kind::reset;
        case ETIMEDOUT: return error_kind::timeout;
        default: return error_kind::other;
    }
}

/// How an I/O error is counted (Asio's errors are errno values, plus its own EOF).
error_kind classify(const boost::system::error_code& ec);

/// Echo payloads: message k of a connection is a window of its thread's random pool, starting
/// at (connection offset + k * 61) % 256, with k itself in the first 8 bytes. Consecutive
/// messages differ, so a stale, repeated or misordered echo fails verification; one pool per
/// thread (not per connection) stays in cache.
class echo_payloads {
public:
    /// Fills the pool for `size`-byte messages (once per thread; `seed` varies per thread).
    void prepare(std::size_t size, std::uint64_t seed) {
        if (pool_.size() == size + pool_slack) return;
        size_ = size;
        pool_.resize(size + pool_slack);
        std::mt19937_64 random(seed);
        for (auto& c : pool_) c = static_cast<char>(random());
    }

    std::size_t size() const { return size_; }
    /// Bytes of the message that hold its sequence number.
    std::size_t header_size() const { return std::min<std::size_t>(sizeof(std::uint64_t), size_); }

    /// The part of message k of connection `slot` after its header: a window of the pool.
    const char* body(std::size_t slot, std::uint64_t k) const {
        return pool_.data() + (slot * connection_stride + k * window_stride) % pool_slack +
               header_size();
    }
    std::size_t body_size() const { return size_ - header_size(); }

    /// Writes the whole of message k of connection `slot` to `out` (size() bytes).
    void write(std::size_t slot, std::uint64_t k, char* out) const {
        std::memcpy(out, &k, header_size());
        std::memcpy(out + header_size(), body(slot, k), body_size());
    }

    /// Whether the size() bytes at `received` are message k of connection `slot`.
    bool matches(std::size_t slot, std::uint64_t k, const char* received) const {
        return std::memcmp(received, &k, header_size()) == 0 &&
               std::memcmp(received + header_size(), body(slot, k), body_size()) == 0;
    }

private:
    static constexpr std::size_t pool_slack = 256;
    static constexpr std::size_t window_stride = 61;  // coprime with 256: every offset is used
    static constexpr std::size_t connection_stride = 97;

    std::string pool_;
    std::size_t size_ = 0;
};

/// The receive buffer for echo responses: more than one message (so a read that returns less
/// than it asked for tells the socket is drained), room for a pipeline's worth of responses up
/// to 64KiB, and small otherwise: a thousand connections' buffers must stay in cache.
inline std::size_t echo_receive_buffer_size(std::size_t size, std::size_t pipeline) {
    const std::size_t pipelined = std::min<std::size_t>(2 * size * pipeline, 65536);
    return std::max({std::size_t{512}, 2 * size, pipelined});
}

/// Send times of the requests in flight on one connection, oldest first: a ring of
/// --pipeline entries in one allocation (a thousand connections' rings must stay in cache).
class in_flight_requests {
public:
    explicit in_flight_requests(std::size_t depth) : ring_(depth) {}

    std::size_t size() const { return size_; }
    bool full() const { return size_ == ring_.size(); }

    /// `measured_from` is the planned send time in open loop, the actual one in closed loop.
    void push(steady::time_point measured_from, steady::time_point sent_at) {
        ring_[(head_ + size_) % ring_.size()] = {measured_from, sent_at};
        ++size_;
    }
    steady::time_point oldest_measured_from() const { return ring_[head_].measured_from; }
    steady::time_point oldest_sent_at() const { return ring_[head_].sent_at; }
    void pop() {
        head_ = (head_ + 1) % ring_.size();
        --size_;
    }
    void clear() { head_ = size_ = 0; }

private:
    struct entry {
        steady::time_point measured_from;
        steady::time_point sent_at;
    };
    std::vector<entry> ring_;
    std::size_t head_ = 0;
    std::size_t size_ = 0;
};

/// Counts an established connection for the live line and the peak.
inline void count_connection_opened(std::atomic<std::size_t>& open,
                                    std::atomic<std::size_t>& peak) {
    const auto now = open.fetch_add(1, std::memory_order_relaxed) + 1;
    auto seen = peak.load(std::memory_order_relaxed);
    while (now > seen && !peak.compare_exchange_weak(seen, now, std::memory_order_relaxed)) {
    }
}

}  // namespace pierload::detail
