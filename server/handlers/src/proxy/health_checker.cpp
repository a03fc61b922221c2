#include "pier/handlers/proxy/health_checker.hpp"

#include <array>
#include <cstdlib>
#include <exception>
#include <variant>

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace pier::handlers::proxy {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;

/// How much of a reply is searched for `expect`: HAProxy's tcp-check looks in one buffer
/// (16KiB by default), and a banner or status reply is far shorter.
constexpr std::size_t max_reply = 16 * 1024;

constexpr auto as_tuple_awaitable = asio::as_tuple(asio::use_awaitable);

/// A probe that failed at `step`; a local error (this host out of resources) is no verdict.
health_checker::verdict failed(std::string_view step, const boost::system::error_code& ec) {
    using kind = health_checker::verdict::kind;
    return {is_local_failure(ec) ? kind::inconclusive : kind::failed,
            std::string(step) + ": " + ec.message()};
}

health_checker::verdict failed(std::string reason) {
    return {health_checker::verdict::kind::failed, std::move(reason)};
}

}  // namespace

/// One upstream's loop and the I/O objects stop() cancels.
struct health_checker::probe_loop {
    probe_loop(const asio::any_io_executor& strand, std::shared_ptr<upstream> t)
        : target(std::move(t)), socket(strand), deadline(strand), pause(strand) {}

    std::shared_ptr<upstream> target;
    tcp::socket socket;
    asio::steady_timer deadline;  ///< the probe's timeout
    asio::steady_timer pause;     ///< the interval between probes
};

health_checker::health_checker(const config::health_check_config& cfg) : cfg_(cfg) {}

health_checker::~health_checker() = default;

std::shared_ptr<health_checker> health_checker::start(
    const asio::any_io_executor& strand, const config::health_check_config& cfg,
    std::vector<std::shared_ptr<upstream>> targets) {
    std::shared_ptr<health_checker> checker(new health_checker(cfg));
    for (auto& target : targets) {
        checker->loops_.push_back(std::make_unique<probe_loop>(strand, std::move(target)));
    }
    for (auto& loop : checker->loops_) {
        // Each loop holds the checker: stop() cancels, and the last loop to return frees it.
        asio::co_spawn(
            strand, [self = checker, &loop = *loop]() { return self->watch(loop); },
            [](std::exception_ptr error) {
                // The loops expect every failure; an exception is a broken invariant or out
                // of memory. A loop that silently ended would leave its upstream's state
                // frozen (down, maybe, for good): fail fast, as the listener's loops do.
                if (!error) return;
                try {
                    std::rethrow_exception(error);
                } catch (const std::exception& e) {
                    spdlog::critical("proxy: health check loop failed error=\"{}\"", e.what());
                }
                std::abort();
            });
    }
    return checker;
}

void health_checker::stop() {
    stopped_ = true;
    for (auto& loop : loops_) {
        boost::system::error_code ignored;
        loop->socket.close(ignored);
        loop->deadline.cancel();
        loop->pause.cancel();
    }
}

asio::awaitable<void> health_checker::watch(probe_loop& loop) {
    while (!stopped_) {
        const verdict result = co_await probe(loop);
        // Closed at once, and with a reset: a probe every few milliseconds must not leave a
        // TIME_WAIT socket behind each time (HAProxy's checks close the same way).
        boost::system::error_code ignored;
        loop.socket.set_option(asio::socket_base::linger(true, 0), ignored);
        loop.socket.close(ignored);
        if (stopped_) co_return;  // a cancelled probe says nothing about the upstream
        report(*loop.target, result);
        loop.pause.expires_after(cfg_.interval);
        co_await loop.pause.async_wait(as_tuple_awaitable);
    }
}

asio::awaitable<health_checker::verdict> health_checker::probe(probe_loop& loop) {
    auto& socket = loop.socket;
    const auto& endpoint = loop.target->endpoint();
    boost::system::error_code ec;
    socket.open(endpoint.protocol(), ec);
    if (ec) co_return failed("open", ec);
    // One deadline for the whole probe: connect, send and expect together take at most timeout.
    loop.deadline.expires_after(cfg_.timeout);
    const auto timed_out = [](const auto& outcome) { return outcome.index() == 1; };

    auto connected = co_await (socket.async_connect(endpoint, as_tuple_awaitable) ||
                               loop.deadline.async_wait(as_tuple_awaitable));
    if (timed_out(connected)) co_return failed("connect: timed out");
    if (const auto [connect_ec] = std::get<0>(connected); connect_ec) {
        co_return failed("connect", connect_ec);
    }

    if (!cfg_.send.empty()) {
        auto sent =
            co_await (asio::async_write(socket, asio::buffer(cfg_.send), as_tuple_awaitable) ||
                      loop.deadline.async_wait(as_tuple_awaitable));
        if (timed_out(sent)) co_return failed("send: timed out");
        if (const auto [send_ec, n] = std::get<0>(sent); send_ec) co_return failed("send", send_ec);
    }

    if (!cfg_.expect.empty()) {
        std::string reply;
        std::array<char, 2048> chunk;
        while (reply.find(cfg_.expect) == std::string::npos) {
            if (reply.size() >= max_reply) {
                co_return failed("expect: not in the first 16KiB of the reply");
            }
            const std::size_t room = std::min(chunk.size(), max_reply - reply.size());
            auto received = co_await (
                socket.async_read_some(asio::buffer(chunk.data(), room), as_tuple_awaitable) ||
                loop.deadline.async_wait(as_tuple_awaitable));
            if (timed_out(received)) co_return failed("expect: timed out");
            const auto [read_ec, n] = std::get<0>(received);
            reply.append(chunk.data(), n);
            if (read_ec == asio::error::eof) {
                if (reply.find(cfg_.expect) != std::string::npos) break;
                co_return failed("expect: closed before the expected reply");
            }
            if (read_ec) co_return failed("expect", read_ec);
        }
    }
    co_return verdict{verdict::kind::passed, {}};
}

void health_checker::report(upstream& target, const verdict& result) {
    const auto address = target.address().to_string();
    switch (result.outcome) {
        case verdict::kind::inconclusive:
            if (const auto n = local_error_log_.allow()) {
                spdlog::warn(
                    "proxy: health check not run upstream={} local error=\"{}\" occurrences={}",
                    address, result.reason, n);
            }
            return;
        case verdict::kind::passed:
            if (target.check_passed(cfg_.rise) == upstream::check_change::went_up) {
                spdlog::info("proxy: upstream up by health check upstream={} rise={}", address,
                             cfg_.rise);
            }
            return;
        case verdict::kind::failed:
            if (target.check_failed(cfg_.fall) == upstream::check_change::went_down) {
                spdlog::warn(
                    "proxy: upstream down by health check upstream={} reason=\"{}\" fall={}",
                    address, result.reason, cfg_.fall);
            } else {
                spdlog::debug("proxy: health check failed upstream={} reason=\"{}\"", address,
                              result.reason);
            }
            return;
    }
}

}  // namespace pier::handlers::proxy
