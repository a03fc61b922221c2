// Active health checks of a proxy listener's upstreams (`proxy.health_check:`).
//
// One probe loop per upstream. A probe connects, writes `send`, reads until the reply contains
// `expect` (within its first 16KiB), all within `timeout`, then closes; `interval` later the
// next one starts. `fall` failures in a row take the upstream out of rotation, `rise` passes
// bring it back (upstream::check_failed / check_passed), as HAProxy's `check` does.
//
// Threads: start() and stop() on `strand`, which runs the loops too: a checker replaced on a
// reload (stopped, then its successor started, in one step on the listener's strand) never
// reports a result after the next one began.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "pier/config/config.hpp"
#include "pier/handlers/proxy/upstream.hpp"
#include "pier/log/rate_limiter.hpp"

namespace pier::handlers::proxy {

class health_checker {
public:
    /// Starts probing `targets` at once; the loops keep the checker alive until stop().
    static std::shared_ptr<health_checker> start(const boost::asio::any_io_executor& strand,
                                                 const config::health_check_config& cfg,
                                                 std::vector<std::shared_ptr<upstream>> targets);

    ~health_checker();
    health_checker(const health_checker&) = delete;
    health_checker& operator=(const health_checker&) = delete;

    /// Cancels every probe and pause; the loops return without reporting anything more.
    void stop();

    /// What one probe says about its upstream.
    struct verdict {
        enum class kind {
            passed,
            failed,
            /// This host could not probe (out of descriptors, ports, memory): no verdict.
            inconclusive,
        } outcome = kind::passed;
        std::string reason;  ///< why, unless passed
    };

private:
    struct probe_loop;

    explicit health_checker(const config::health_check_config& cfg);
    boost::asio::awaitable<void> watch(probe_loop& loop);
    boost::asio::awaitable<verdict> probe(probe_loop& loop);
    void report(upstream& target, const verdict& result);

    const config::health_check_config cfg_;
    std::vector<std::unique_ptr<probe_loop>> loops_;
    log::rate_limiter local_error_log_{std::chrono::seconds(1)};
    bool stopped_ = false;
};

}  // namespace pier::handlers::proxy
