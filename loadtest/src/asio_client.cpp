// The Asio client thread: an io_context running a share of the connection slots as session
// coroutines (session.cpp), plus the thread's --timeout watchdog.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <future>
#include <optional>
#include <thread>

#include "client_thread.hpp"

namespace pierload::detail {
namespace {

class asio_client_thread final : public client_thread {
public:
    asio_client_thread(run_context& run, session_counter& counter, std::size_t first_slot,
                       std::size_t slots)
        : ctx_(run), counter_(counter), first_slot_(first_slot), slots_(slots) {}

    asio_client_thread(const asio_client_thread&) = delete;
    asio_client_thread& operator=(const asio_client_thread&) = delete;

    void start() override {
        counter_.add(slots_);
        const auto done = [this](std::exception_ptr) {
            // Sessions end by themselves at stop (their sockets and timers are closed);
            // an exception can only be an abort in progress: nothing to report.
            counter_.done();
        };
        for (std::size_t i = 0; i < slots_; ++i) {
            asio::co_spawn(io_, run_session(ctx_, first_slot_ + i), done);
        }
        // Not counted: it runs until stop, which follows the last session's end.
        asio::co_spawn(io_, run_watchdog(ctx_), [](std::exception_ptr) {});
        thread_ = std::thread([this] { io_.run(); });
    }

    interval_stats take_interval() override {
        std::promise<std::unique_ptr<interval_stats>> taken;
        auto future = taken.get_future();
        asio::post(io_, [this, &taken] {
            taken.set_value(std::exchange(ctx_.current, std::make_unique<interval_stats>()));
        });
        return std::move(*future.get());
    }

    void stop() override {
        asio::post(io_, [this] {
            stop_thread_sessions(ctx_);
            guard_.reset();
        });
    }

    interval_stats join() override {
        if (thread_.joinable()) thread_.join();
        return std::move(*ctx_.current);
    }

private:
    // Only this thread touches its sockets and timers (the driver only posts), so the reactor
    // can skip its per-descriptor locking.
    asio::io_context io_{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_{
        io_.get_executor()};
    thread_context ctx_;
    session_counter& counter_;
    const std::size_t first_slot_;
    const std::size_t slots_;
    std::thread thread_;
};

}  // namespace

std::unique_ptr<client_thread> make_asio_client_thread(run_context& run, session_counter& counter,
                                                       std::size_t first_slot, std::size_t slots) {
    return std::make_unique<asio_client_thread>(run, counter, first_slot, slots);
}

}  // namespace pierload::detail
