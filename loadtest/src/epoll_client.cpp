// The epoll client thread: closed-loop echo and line on a plain edge-triggered epoll loop.
//
// Why a second driver: in closed loop the client's CPU per request must stay below the
// server's (bench/echo_bench.sh), or the client becomes what a benchmark measures. Through Asio
// coroutines a request cost ~2,000 instructions of user space plus the cache misses of a
// coroutine frame, an Asio descriptor state and an operation per connection, about what pierd
// spends on the other side. Here a request costs what bench/epoll_echo costs a server: one
// send, one recv and a share of one epoll_wait, with one slot structure per connection. Open
// loop (--rate), idle and churn stay on the Asio sessions: there the client's cost per request
// is not what limits a run.
//
// A slot goes waiting (ramp-up or reconnect backoff) -> connecting -> exchanging, and back to
// waiting after a failure. Slot starts and connect timeouts wait in one min-heap; --timeout is
// enforced by a scan every timeout/4, like the Asio watchdog. The driver reaches the thread
// through an eventfd: to take the interval's stats, and to stop.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <future>
#include <limits>
#include <mutex>
#include <queue>
#include <span>
#include <string_view>
#include <thread>

#include "client_thread.hpp"
#include "exchange_common.hpp"

namespace pierload::detail {
namespace {

// Events per epoll_wait: enough to amortise the call over a thread's share of 1000+ busy
// connections.
constexpr int max_events = 256;
// Line mode: the receive buffer starts at this size and grows (up to max_line) while a
// response does not fit; a read always has at least this much room.
constexpr std::size_t line_receive_reserve = 512;

[[noreturn]] void fatal(const char* what) {
    // Only a programming error makes epoll or eventfd fail on descriptors this thread owns.
    std::perror(what);
    std::abort();
}

enum class slot_state : std::uint8_t { waiting, connecting, exchanging, finished };

/// One connection slot. Its address is the epoll event's data.ptr.
struct connection_slot {
    connection_slot(std::size_t slot_index, std::size_t pipeline)
        : index(slot_index), in_flight(pipeline) {}

    std::size_t index;  ///< across all threads: picks message contents and ramp-up time
    int fd = -1;
    slot_state state = slot_state::waiting;
    /// Bumped whenever the slot schedules a deadline: a deadline queued earlier is then stale.
    std::uint32_t attempt = 0;
    steady::duration backoff = min_backoff;
    steady::time_point connect_began;
    in_flight_requests in_flight;
    std::vector<char> rx;  ///< received bytes; [rx_begin, rx_end) not consumed yet
    std::size_t rx_begin = 0;
    std::size_t rx_end = 0;
    std::size_t line_searched = 0;  ///< line mode: unconsumed bytes already searched
    std::string tx_pending;         ///< the rest of a request the kernel did not take at once
    std::size_t tx_offset = 0;
    std::uint64_t next_message = 0;  ///< echo message number, across reconnects
};

/// When a waiting slot starts connecting, or when a connecting slot times out.
struct deadline {
    steady::time_point at;
    connection_slot* slot;
    std::uint32_t attempt;
    bool operator>(const deadline& other) const { return at > other.at; }
};

class epoll_client_thread final : public client_thread {
public:
    epoll_client_thread(run_context& run, session_counter& counter, std::size_t first_slot,
                        std::size_t slots)
        : run_(run),
          opts_(run.opts),
          counter_(counter),
          line_mode_(run.opts.mode == load_mode::line),
          watchdog_period_(std::max<steady::duration>(run.opts.request_timeout / 4, 1ms)) {
        slots_.reserve(slots);  // never reallocated: epoll events point at the slots
        for (std::size_t i = 0; i < slots; ++i) slots_.emplace_back(first_slot + i, opts_.pipeline);
        if (!line_mode_) {
            payloads_.prepare(opts_.size, 0x5eed0000 + first_slot);
            scratch_.resize(std::min(opts_.size, contiguous_limit));
        }
        epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
        if (epoll_fd_ < 0) fatal("pierload: epoll_create1");
        control_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (control_fd_ < 0) fatal("pierload: eventfd");
        epoll_event ev{};
        ev.events = EPOLLIN;  // level-triggered: read (reset) on every wake-up
        ev.data.ptr = nullptr;
        if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, control_fd_, &ev) != 0) {
            fatal("pierload: epoll_ctl");
        }
    }

    ~epoll_client_thread() override {
        ::close(control_fd_);
        ::close(epoll_fd_);
    }
    epoll_client_thread(const epoll_client_thread&) = delete;
    epoll_client_thread& operator=(const epoll_client_thread&) = delete;

    void start() override {
        counter_.add(slots_.size());
        thread_ = std::thread([this] { run(); });
    }

    interval_stats take_interval() override {
        std::promise<std::unique_ptr<interval_stats>> taken;
        auto future = taken.get_future();
        {
            std::lock_guard lock(control_mutex_);
            take_request_ = &taken;
        }
        wake();
        return std::move(*future.get());
    }

    void stop() override {
        {
            std::lock_guard lock(control_mutex_);
            stop_requested_ = true;
        }
        wake();
    }

    interval_stats join() override {
        if (thread_.joinable()) thread_.join();
        return std::move(*current_);
    }

private:
    void wake() {
        const std::uint64_t one = 1;
        if (::write(control_fd_, &one, sizeof one) < 0 && errno != EAGAIN) {
            fatal("pierload: eventfd write");
        }
    }

    void run() {
        const auto now = steady::now();
        for (auto& slot : slots_) {
            // Ramp-up: slot i starts i / connect_rate seconds after the run.
            const auto start =
                opts_.connect_rate > 0
                    ? run_.start + seconds(static_cast<double>(slot.index) / opts_.connect_rate)
                    : now;
            schedule(slot, start);
        }
        next_watchdog_ = now + watchdog_period_;
        std::array<epoll_event, max_events> events{};
        while (!stopping_) {
            run_due_deadlines();
            const int n = ::epoll_wait(epoll_fd_, events.data(), max_events, wait_ms());
            if (n < 0) {
                if (errno == EINTR) continue;
                fatal("pierload: epoll_wait");
            }
            for (const auto& event : std::span(events.data(), static_cast<std::size_t>(n))) {
                auto* slot = static_cast<connection_slot*>(event.data.ptr);
                if (slot == nullptr) {
                    serve_driver();
                } else {
                    on_event(*slot, event.events);
                }
            }
        }
        for (auto& slot : slots_) {
            if (slot.state == slot_state::finished) continue;
            close_connection(slot);
            counter_.done();
        }
    }

    /// Milliseconds epoll_wait may block: until the next deadline or watchdog scan.
    int wait_ms() const {
        auto next = next_watchdog_;
        if (!deadlines_.empty()) next = std::min(next, deadlines_.top().at);
        const auto left = next - steady::now();
        if (left <= steady::duration::zero()) return 0;
        // Rounded up: waking a little late is harmless, waking early spins.
        const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
        return static_cast<int>(std::min<std::int64_t>(ms, std::numeric_limits<int>::max()));
    }

    void run_due_deadlines() {
        const auto now = steady::now();
        while (!deadlines_.empty() && deadlines_.top().at <= now) {
            const auto due = deadlines_.top();
            deadlines_.pop();
            auto& slot = *due.slot;
            if (due.attempt != slot.attempt) continue;  // superseded
            if (slot.state == slot_state::waiting) {
                start_connect(slot);
            } else if (slot.state == slot_state::connecting) {
                fail(slot, error_kind::timeout);
            }
        }
        if (now >= next_watchdog_) {
            expire_requests(now);
            next_watchdog_ = now + watchdog_period_;
        }
    }

    /// Closes every connection whose oldest request has waited longer than --timeout.
    void expire_requests(steady::time_point now) {
        for (auto& slot : slots_) {
            if (slot.state == slot_state::exchanging && slot.in_flight.size() > 0 &&
                now - slot.in_flight.oldest_sent_at() > opts_.request_timeout) {
                fail(slot, error_kind::timeout);
            }
        }
    }

    /// The driver wrote the eventfd: hand over the interval, or stop.
    void serve_driver() {
        std::uint64_t ignored = 0;
        if (::read(control_fd_, &ignored, sizeof ignored) < 0 && errno != EAGAIN) {
            fatal("pierload: eventfd read");
        }
        std::lock_guard lock(control_mutex_);
        if (take_request_ != nullptr) {
            take_request_->set_value(std::exchange(current_, std::make_unique<interval_stats>()));
            take_request_ = nullptr;
        }
        if (stop_requested_) stopping_ = true;
    }

    void schedule(connection_slot& slot, steady::time_point at) {
        slot.state = slot_state::waiting;
        deadlines_.push({at, &slot, ++slot.attempt});
    }

    bool budget_spent() const {
        return opts_.requests && run_.budget.load(std::memory_order_relaxed) <= 0;
    }

    /// Takes one request from the --requests budget; false when it is spent.
    bool reserve_request() {
        // Without --requests there is no budget: skip the shared counter, whose cache line
        // would otherwise bounce between client threads on every request.
        return !opts_.requests || run_.budget.fetch_sub(1, std::memory_order_relaxed) > 0;
    }

    /// Counts a failure, unless the run is stopping (closing connections is then its doing).
    void record_error(error_kind kind) {
        if (!run_.stopping.load(std::memory_order_relaxed)) current_->errors.add(kind);
    }

    void start_connect(connection_slot& slot) {
        if (budget_spent()) {
            finish(slot);
            return;
        }
        const auto& target = run_.target;
        slot.fd =
            ::socket(target.protocol().family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (slot.fd < 0) {
            fail(slot, classify_errno(errno));
            return;
        }
        if (!run_.sources.empty()) {
            // Let connect() pick the port for this source address: binding with port 0 would
            // reserve one per address up front and run out at ~28k connections.
            const int on = 1;
            ::setsockopt(slot.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof on);
            const tcp::endpoint source(run_.sources[slot.index % run_.sources.size()], 0);
            if (::bind(slot.fd, source.data(), static_cast<socklen_t>(source.size())) != 0) {
                fail(slot, classify_errno(errno));
                return;
            }
        }
        const int on = 1;
        ::setsockopt(slot.fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
        // Registered once for both directions, edge-triggered: no epoll_ctl per request.
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
        ev.data.ptr = &slot;
        if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, slot.fd, &ev) != 0) {
            fail(slot, classify_errno(errno));
            return;
        }
        slot.connect_began = steady::now();
        if (::connect(slot.fd, target.data(), static_cast<socklen_t>(target.size())) == 0) {
            established(slot);
        } else if (errno == EINPROGRESS) {
            slot.state = slot_state::connecting;
            deadlines_.push({slot.connect_began + opts_.connect_timeout, &slot, ++slot.attempt});
        } else {
            fail(slot, classify_errno(errno));
        }
    }

    void on_event(connection_slot& slot, std::uint32_t events) {
        if (slot.state == slot_state::connecting) {
            int error = 0;
            socklen_t length = sizeof error;
            ::getsockopt(slot.fd, SOL_SOCKET, SO_ERROR, &error, &length);
            if (error != 0) {
                fail(slot, classify_errno(error));
            } else {
                established(slot);
            }
            return;
        }
        if (slot.state != slot_state::exchanging) return;
        if ((events & EPOLLOUT) != 0 && !slot.tx_pending.empty()) {
            if (!flush(slot) || !fill_pipeline(slot)) return;
        }
        if ((events & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0) receive(slot);
    }

    void established(connection_slot& slot) {
        slot.state = slot_state::exchanging;
        const auto now = steady::now();
        current_->count_connect(now, to_ns(now - slot.connect_began));
        count_connection_opened(run_.open_connections, run_.peak_connections);
        slot.in_flight.clear();
        slot.rx_begin = slot.rx_end = slot.line_searched = 0;
        slot.tx_pending.clear();
        slot.tx_offset = 0;
        slot.rx.resize(line_mode_ ? line_receive_reserve
                                  : echo_receive_buffer_size(opts_.size, opts_.pipeline));
        fill_pipeline(slot);
    }

    /// Sends requests until --pipeline are in flight. Returns false when the slot's connection
    /// ended (an error, or the budget spent with every response in).
    bool fill_pipeline(connection_slot& slot) {
        while (!slot.in_flight.full() && slot.tx_pending.empty() &&
               !run_.stopping.load(std::memory_order_relaxed) && reserve_request()) {
            const auto now = steady::now();
            slot.in_flight.push(now, now);
            if (!send_request(slot)) return false;
        }
        if (slot.in_flight.size() == 0) {
            // Nothing left to wait for: the budget is spent, or the run is stopping.
            finish(slot);
            return false;
        }
        return true;
    }

    bool send_request(connection_slot& slot) {
        if (line_mode_) {
            iovec part{const_cast<char*>(opts_.request.data()), opts_.request.size()};
            return send_parts(slot, &part, 1);
        }
        std::uint64_t k = slot.next_message++;
        if (opts_.size <= contiguous_limit) {
            payloads_.write(slot.index, k, scratch_.data());
            iovec part{scratch_.data(), opts_.size};
            return send_parts(slot, &part, 1);
        }
        std::array<iovec, 2> parts{
            iovec{&k, payloads_.header_size()},
            iovec{const_cast<char*>(payloads_.body(slot.index, k)), payloads_.body_size()}};
        return send_parts(slot, parts.data(), parts.size());
    }

    /// Sends a request; what the kernel does not take at once waits in tx_pending for the
    /// next EPOLLOUT edge. Returns false when the connection failed.
    bool send_parts(connection_slot& slot, iovec* parts, std::size_t count) {
        ssize_t sent = 0;
        do {
            if (count == 1) {
                sent = ::send(slot.fd, parts[0].iov_base, parts[0].iov_len, MSG_NOSIGNAL);
            } else {
                msghdr message{};
                message.msg_iov = parts;
                message.msg_iovlen = count;
                sent = ::sendmsg(slot.fd, &message, MSG_NOSIGNAL);
            }
        } while (sent < 0 && errno == EINTR);
        if (sent < 0) {
            if (errno != EAGAIN) {
                fail(slot, classify_errno(errno));
                return false;
            }
            sent = 0;
        }
        auto taken = static_cast<std::size_t>(sent);
        current_->bytes_sent += taken;
        for (std::size_t i = 0; i < count; ++i) {
            const auto* part = static_cast<const char*>(parts[i].iov_base);
            const std::size_t skip = std::min(taken, parts[i].iov_len);
            slot.tx_pending.append(part + skip, parts[i].iov_len - skip);
            taken -= skip;
        }
        slot.tx_offset = 0;
        return slot.tx_pending.empty() || flush(slot);
    }

    /// Sends what is pending until it is all out or the socket is full. Returns false when the
    /// connection failed.
    bool flush(connection_slot& slot) {
        while (slot.tx_offset < slot.tx_pending.size()) {
            const ssize_t sent = ::send(slot.fd, slot.tx_pending.data() + slot.tx_offset,
                                        slot.tx_pending.size() - slot.tx_offset, MSG_NOSIGNAL);
            if (sent < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN) return true;  // the next EPOLLOUT edge resumes
                fail(slot, classify_errno(errno));
                return false;
            }
            slot.tx_offset += static_cast<std::size_t>(sent);
            current_->bytes_sent += static_cast<std::size_t>(sent);
        }
        slot.tx_pending.clear();
        slot.tx_offset = 0;
        return true;
    }

    /// Room to receive into: moves unconsumed bytes to the front when the tail is short and,
    /// in line mode, grows the buffer for a long response. Returns the free tail's size.
    std::size_t receive_space(connection_slot& slot) {
        const std::size_t reserve = line_mode_ ? line_receive_reserve : opts_.size;
        if (slot.rx.size() - slot.rx_end < reserve && slot.rx_begin > 0) {
            std::memmove(slot.rx.data(), slot.rx.data() + slot.rx_begin,
                         slot.rx_end - slot.rx_begin);
            slot.rx_end -= slot.rx_begin;
            slot.rx_begin = 0;
        }
        if (line_mode_ && slot.rx.size() - slot.rx_end < reserve) {
            slot.rx.resize(std::min(2 * slot.rx.size(), max_line + reserve));
        }
        return slot.rx.size() - slot.rx_end;
    }

    /// Reads until the socket is drained, consuming responses as they complete.
    void receive(connection_slot& slot) {
        for (;;) {
            const std::size_t space = receive_space(slot);
            if (space == 0) {
                // Only bytes nobody asked for fill the buffer: the server is not echoing.
                fail(slot, line_mode_ ? error_kind::other : error_kind::verify_mismatch);
                return;
            }
            const ssize_t got = ::recv(slot.fd, slot.rx.data() + slot.rx_end, space, 0);
            if (got == 0) {
                fail(slot, error_kind::unexpected_eof);
                return;
            }
            if (got < 0) {
                if (errno == EINTR) continue;
                if (errno != EAGAIN) fail(slot, classify_errno(errno));
                return;
            }
            slot.rx_end += static_cast<std::size_t>(got);
            current_->bytes_received += static_cast<std::size_t>(got);
            if (!consume_responses(slot)) return;
            // A short read means the receive queue is empty (man 7 epoll): new data raises a
            // new edge, so skip the read that would only return EAGAIN.
            if (static_cast<std::size_t>(got) < space) return;
        }
    }

    /// Length of the complete response at rx_begin, or 0 when it is not all in yet.
    std::size_t complete_response(connection_slot& slot) {
        const std::size_t unconsumed = slot.rx_end - slot.rx_begin;
        if (!line_mode_) return unconsumed >= opts_.size ? opts_.size : 0;
        const std::string_view received(slot.rx.data() + slot.rx_begin, unconsumed);
        const std::string_view delimiter = opts_.response_delimiter;
        const auto at = received.find(delimiter, slot.line_searched);
        if (at == std::string_view::npos) {
            // Next time, search again only where the delimiter may still start.
            slot.line_searched = unconsumed - std::min(unconsumed, delimiter.size() - 1);
            return 0;
        }
        slot.line_searched = 0;
        return at + delimiter.size();
    }

    /// Verifies and records every complete response, then sends the next requests. Returns
    /// false when the slot's connection ended.
    bool consume_responses(connection_slot& slot) {
        bool answered = false;
        while (slot.in_flight.size() > 0) {
            const std::size_t length = complete_response(slot);
            if (length == 0) break;
            if (!line_mode_) {
                const auto k = slot.next_message - slot.in_flight.size();
                if (!payloads_.matches(slot.index, k, slot.rx.data() + slot.rx_begin)) {
                    fail(slot, error_kind::verify_mismatch);
                    return false;
                }
            }
            slot.rx_begin += length;
            current_->latency.record(to_ns(steady::now() - slot.in_flight.oldest_measured_from()));
            current_->requests += 1;
            slot.in_flight.pop();
            answered = true;
        }
        if (slot.rx_begin == slot.rx_end) slot.rx_begin = slot.rx_end = 0;
        if (line_mode_ && slot.rx_end - slot.rx_begin > max_line) {
            fail(slot, error_kind::other);  // a response longer than any sane line protocol's
            return false;
        }
        if (!answered) return true;
        slot.backoff = min_backoff;  // a connection that answers ends the backoff
        return fill_pipeline(slot);
    }

    void close_connection(connection_slot& slot) {
        if (slot.fd < 0) return;
        if (slot.state == slot_state::exchanging) {
            run_.open_connections.fetch_sub(1, std::memory_order_relaxed);
        }
        ::close(slot.fd);  // also leaves the epoll set: no other descriptor refers to it
        slot.fd = -1;
    }

    /// Counts the failure, closes the connection and retries after the slot's backoff.
    void fail(connection_slot& slot, error_kind kind) {
        record_error(kind);
        close_connection(slot);
        schedule(slot, steady::now() + slot.backoff);
        slot.backoff = std::min(slot.backoff * 2, max_backoff);
    }

    /// The slot is done for this run (its share of --requests is in).
    void finish(connection_slot& slot) {
        close_connection(slot);
        slot.state = slot_state::finished;
        counter_.done();
    }

    run_context& run_;
    const options& opts_;
    session_counter& counter_;
    const bool line_mode_;
    const steady::duration watchdog_period_;
    std::vector<connection_slot> slots_;
    echo_payloads payloads_;
    std::vector<char> scratch_;  ///< a small echo request, assembled before send()
    std::priority_queue<deadline, std::vector<deadline>, std::greater<>> deadlines_;
    steady::time_point next_watchdog_;
    std::unique_ptr<interval_stats> current_ = std::make_unique<interval_stats>();
    int epoll_fd_ = -1;
    int control_fd_ = -1;
    bool stopping_ = false;  ///< the loop's own copy of stop_requested_

    std::mutex control_mutex_;  ///< guards what the driver hands over
    std::promise<std::unique_ptr<interval_stats>>* take_request_ = nullptr;
    bool stop_requested_ = false;

    std::thread thread_;
};

}  // namespace

bool epoll_client_supports(const options& opts) {
    return opts.rate == 0 && (opts.mode == load_mode::echo || opts.mode == load_mode::line);
}

std::unique_ptr<client_thread> make_epoll_client_thread(run_context& run, session_counter& counter,
                                                        std::size_t first_slot, std::size_t slots) {
    return std::make_unique<epoll_client_thread>(run, counter, first_slot, slots);
}

}  // namespace pierload::detail
