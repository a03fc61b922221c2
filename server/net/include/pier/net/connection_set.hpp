// The live connections of one listener: the task group shutdown and the idle sweep act on.
//
// Owns nothing: each connection links itself in when its task starts and out when it ends.
// Thread-safe: every member may be called from any thread (one mutex; the hot path touches it
// only at connect and disconnect). wait_empty_until() blocks, so never call it on a worker.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <stop_token>

#include <boost/intrusive/list.hpp>

#include "pier/net/connection.hpp"
#include "pier/runtime/clock.hpp"

namespace pier::net {

class connection_set {
public:
    connection_set() = default;
    connection_set(const connection_set&) = delete;
    connection_set& operator=(const connection_set&) = delete;
    ~connection_set();

    /// Links `c` in. If a drain has begun, `c` is asked to drain at once, so a connection
    /// accepted during shutdown is not forgotten.
    void add(connection& c);
    /// Unlinks `c` and adds its traffic to the closed totals; wakes wait_empty_until() when the
    /// set becomes empty.
    void remove(connection& c);
    std::size_t size() const;
    /// The traffic of every connection that was ever in the set, so far. Under one lock with
    /// remove(), so a closing connection is counted exactly once: the totals never go back.
    traffic_totals traffic() const;

    /// Asks every connection to stop for `reason`; drain is remembered for later add()s.
    void request_stop_all(stop_reason reason);

    /// The limits stop_inactive() applies; a zero one is off.
    struct timeouts {
        std::chrono::nanoseconds idle{0};     ///< no progress at all
        std::chrono::nanoseconds write{0};    ///< a write making no progress
        std::chrono::nanoseconds request{0};  ///< a request still incomplete since it began
    };
    /// Asks connections idle since before `now - idle` (or their own shorter idle timeout, see
    /// connection::shorten_idle_timeout) to stop (reason idle), those with a write that has
    /// made no progress since `now - write` (reason stalled), and those with a request begun
    /// before `now - request` and still incomplete (reason slow_request, however steadily its
    /// bytes trickle in: slowloris; see connection::stop_slow_request). Returns how many were
    /// asked, per reason.
    struct stopped_counts {
        std::size_t idle = 0;
        std::size_t stalled = 0;
        std::size_t slow_request = 0;
    };
    stopped_counts stop_inactive(runtime::clock::time_point now, const timeouts& limits);

    /// Asks every relaying connection quiet for at least relay_recheck_after to recheck its
    /// sockets (connection::recheck_sockets; each does so once per quiet period).
    void recheck_quiet_relays(runtime::clock::time_point now);

    /// How long a relay stays quiet before its sockets are rechecked for a reset that raised
    /// no event: once per quiet period, so a relay that pauses between exchanges pays two
    /// getsockopt() calls per pause, and such a reset is seen within about this plus one
    /// sweep interval.
    static constexpr std::chrono::seconds relay_recheck_after{1};

    /// Blocks until the set is empty or `deadline` passes; true when empty.
    bool wait_empty_until(std::chrono::steady_clock::time_point deadline,
                          std::stop_token cut_short = {});
    /// wait_empty_until() for a drain: meanwhile quiet relays are rechecked as the listener's
    /// sweep (which has stopped) would, so a relay whose peer is gone ends before `deadline`.
    /// `cut_short`: a stop request ends the wait at once (false, as at the deadline).
    bool wait_drained_until(runtime::clock::time_point deadline, std::stop_token cut_short = {});

private:
    using list_type =
        boost::intrusive::list<connection, boost::intrusive::constant_time_size<true>>;

    mutable std::mutex mutex_;
    std::condition_variable_any empty_;  // _any: it waits on a stop_token too
    list_type connections_;
    traffic_totals closed_traffic_;  ///< of connections removed so far
    bool draining_ = false;
};

}  // namespace pier::net
