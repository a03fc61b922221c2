// net::edge_reader on real loopback sockets: it reads what async_read_some would, parks after
// a read that drained the socket without missing what arrives later, sees a FIN that came
// with the last bytes, and cancel_read() plus read_now find a reset that came with them. Its
// forwarding read hands chunks to a sink and completes only for what the sink did not settle.
#include <array>
#include <cerrno>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include <sys/socket.h>

#include <doctest/doctest.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "pier/net/edge_reader.hpp"
#include "support/test_client.hpp"

namespace pier::test {
namespace {

using namespace asio::experimental::awaitable_operators;

struct read_result {
    boost::system::error_code ec;
    std::string bytes;
};

asio::awaitable<read_result> read_some(net::edge_reader& reader, bool read_now = false) {
    std::array<char, 64> buffer{};
    auto [ec, n] = co_await reader.async_read_some(asio::buffer(buffer), read_now,
                                                   asio::as_tuple(asio::use_awaitable));
    co_return read_result{ec, std::string(buffer.data(), n)};
}

/// Reads until a read fails (EOF included): all the bytes, and what ended it.
asio::awaitable<read_result> read_to_error(net::edge_reader& reader, bool read_now) {
    read_result all;
    for (;;) {
        auto r = co_await read_some(reader, read_now);
        if (r.ec) co_return read_result{r.ec, all.bytes};
        all.bytes += r.bytes;
    }
}

// Proves reads return what was sent, a full buffer leaves the rest for the next read, and a
// read parked after a short one completes when more arrives.
TEST_CASE("edge_reader: short, full and later reads") {
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            auto [ours, peer] = co_await connected_pair();
            net::edge_reader reader(ours);
            co_await write_all(peer, "hello");
            CHECK((co_await read_some(reader)).bytes == "hello");  // short: drained
            const std::string big(100, 'b');
            co_await write_all(peer, big);
            auto first = co_await read_some(reader);  // full 64-byte buffer: more waits
            CHECK(first.bytes == big.substr(0, 64));
            CHECK((co_await read_some(reader)).bytes == big.substr(64));
            // Parked on a drained socket; the peer writes later: the edge wakes it.
            const auto later = co_await (read_some(reader) && write_all(peer, "later"));
            CHECK(later.bytes == "later");
        },
        10s);
}

// Proves a FIN that arrived together with the last bytes is not missed: the read after the
// data sees EOF at once.
TEST_CASE("edge_reader: a FIN right behind the data is seen") {
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            auto [ours, peer] = co_await connected_pair();
            net::edge_reader reader(ours);
            co_await write_all(peer, "last");
            peer.shutdown(tcp::socket::shutdown_send);
            // Whatever arrived by the first read, the bytes come first, then EOF.
            const auto rest = co_await read_to_error(reader, false);
            CHECK(rest.bytes == "last");
            CHECK(rest.ec == asio::error::eof);
        },
        10s);
}

// Proves cancel_read() ends a parked read (and only it) on the reactor path, and a read (with
// read_now) then finds a reset that raised no readiness event of its own. (The portable path
// has no read to cancel: each of its reads tries the socket first.)
TEST_CASE("edge_reader: cancel_read and read_now find a reset") {
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            auto [ours, peer] = co_await connected_pair();
            net::edge_reader reader(ours);
            if constexpr (net::edge_reader::on_reactor) {
                auto executor = co_await asio::this_coro::executor;
                // The read parks (nothing to read; the operators start it first); the cancel
                // comes from another coroutine on this executor, as the sweep's recheck does,
                // and the read's end cancels that coroutine's wait.
                auto parked = co_await (read_some(reader) || [&]() -> asio::awaitable<void> {
                    co_await asio::post(executor, asio::use_awaitable);
                    net::edge_reader::cancel_read(ours);
                    co_await asio::steady_timer(executor, 10s).async_wait(asio::use_awaitable);
                }());
                REQUIRE(parked.index() == 0);
                CHECK(std::get<0>(parked).ec == asio::error::operation_aborted);
            }

            co_await write_all(peer, "bye");
            peer.set_option(asio::socket_base::linger(true, 0));
            peer.close();  // RST right behind the bytes
            const auto rest = co_await read_to_error(reader, true);
            CHECK(rest.bytes == "bye");
            CHECK(rest.ec == asio::error::connection_reset);
        },
        10s);
}

/// A sink that keeps what it takes. When `next` is set, each chunk it takes makes the peer
/// send the next message (or, after the last, its FIN): so every message arrives only after
/// the previous one was read, as its own chunk.
struct keeping_sink {
    std::string kept;
    int chunks = 0;
    bool refuse = false;
    std::vector<std::string> next;
    tcp::socket* peer = nullptr;

    bool take(const char* data, std::size_t size) noexcept {
        kept.append(data, size);
        ++chunks;
        if (refuse) return false;
        if (peer != nullptr) {
            boost::system::error_code ec;
            if (static_cast<std::size_t>(chunks) <= next.size()) {
                asio::write(*peer, asio::buffer(next[static_cast<std::size_t>(chunks) - 1]), ec);
            } else {
                peer->shutdown(tcp::socket::shutdown_send, ec);
            }
        }
        return true;
    }

    net::chunk_sink sink() { return net::sink_to(*this); }
};

// Proves a forwarding read does not complete for chunks its sink takes: it waits for the
// next edge, gets the later messages, and completes at EOF (with nothing handed over).
TEST_CASE("edge_reader: a forwarding read goes on while its sink takes everything") {
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            auto [ours, peer] = co_await connected_pair();
            net::edge_reader reader(ours);
            keeping_sink sink;
            sink.next = {"two", "three"};
            sink.peer = &peer;
            co_await write_all(peer, "one");
            std::array<char, 64> buffer{};
            auto [ec, n] = co_await reader.async_forward(asio::buffer(buffer), false, sink.sink(),
                                                         asio::as_tuple(asio::use_awaitable));
            CHECK(ec == asio::error::eof);
            CHECK(n == 0);
            CHECK(sink.kept == "onetwothree");
            CHECK(sink.chunks == 3);
        },
        10s);
}

// Proves the read completes with a chunk the sink refused; that chunks it takes, full ones
// included, do not complete it while more is waiting; and that it completes after
// max_chunks_in_a_row chunks taken in a row, leaving the rest for the next read.
TEST_CASE("edge_reader: a forwarding read completes with a refused chunk, or after a run") {
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            auto [ours, peer] = co_await connected_pair();
            net::edge_reader reader(ours);
            keeping_sink refusing;
            refusing.refuse = true;
            co_await write_all(peer, "abc");
            std::array<char, 4> buffer{};
            auto [ec, n] = co_await reader.async_forward(
                asio::buffer(buffer), false, refusing.sink(), asio::as_tuple(asio::use_awaitable));
            CHECK(!ec);
            CHECK(std::string(buffer.data(), n) == "abc");
            CHECK(refusing.kept == "abc");

            // One chunk more than a run: the read completes with the run's last (full) chunk.
            const auto stream = make_payload(buffer.size() * (net::max_chunks_in_a_row + 1), 1);
            co_await write_all(peer, stream);
            keeping_sink taking;
            std::tie(ec, n) = co_await reader.async_forward(
                asio::buffer(buffer), false, taking.sink(), asio::as_tuple(asio::use_awaitable));
            CHECK(!ec);
            CHECK(n == buffer.size());
            CHECK(taking.chunks == static_cast<int>(net::max_chunks_in_a_row));
            CHECK(taking.kept == stream.substr(0, buffer.size() * net::max_chunks_in_a_row));
            CHECK((co_await read_some(reader)).bytes ==
                  stream.substr(buffer.size() * net::max_chunks_in_a_row));
        },
        10s);
}

// Proves a forwarding read with no buffer of its own reads chunks of at most the size asked
// into the thread's scratch buffer, reads on through full chunks its sink takes, goes on
// waiting after one that drained the socket, and completes (with the count) for a refused
// chunk as async_forward does.
TEST_CASE("edge_reader: a forwarding read through the thread's scratch buffer") {
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            auto [ours, peer] = co_await connected_pair();
            net::edge_reader reader(ours);
            keeping_sink taking;
            co_await write_all(peer, "abcdefghij");
            // "abcd", "efgh" (full), then "ij", which drains the socket: the read waits on,
            // and each chunk taken makes the peer send the next, then its FIN.
            taking.next = {"", "", "kl"};
            taking.peer = &peer;
            auto [ec, n] = co_await reader.async_forward_through_scratch(
                4, false, taking.sink(), asio::as_tuple(asio::use_awaitable));
            CHECK(ec == asio::error::eof);
            CHECK(n == 0);
            CHECK(taking.kept == "abcdefghijkl");
            CHECK(taking.chunks == 4);
        },
        10s);
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            auto [ours, peer] = co_await connected_pair();
            net::edge_reader reader(ours);
            keeping_sink refusing;
            refusing.refuse = true;
            co_await write_all(peer, "xyz");
            auto [ec, n] = co_await reader.async_forward_through_scratch(
                64, false, refusing.sink(), asio::as_tuple(asio::use_awaitable));
            CHECK(!ec);
            CHECK(n == 3);
            CHECK(refusing.kept == "xyz");  // the sink's copy is all that is left of it
        },
        10s);
}

/// A sink that keeps each chunk and what the read said of the bytes behind it.
struct more_recording_sink {
    std::vector<std::pair<std::string, bool>> chunks;

    bool take(const char* data, std::size_t size, bool more) noexcept {
        chunks.emplace_back(std::string(data, size), more);
        return true;
    }

    net::chunk_sink sink() { return net::sink_to(*this); }
};

// Proves the reactor path tells a sink when bytes are queued behind a chunk (what lets the
// relay send it with MSG_MORE) and only then: not for the chunk that drains the socket. The
// portable path never knows, and says so.
TEST_CASE("edge_reader: a sink hears whether more is queued behind its chunk") {
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            auto [ours, peer] = co_await connected_pair();
            net::edge_reader reader(ours);
            more_recording_sink recording;
            co_await write_all(peer, "abcdefgh");
            peer.shutdown(tcp::socket::shutdown_send);
            auto [ec, n] = co_await reader.async_forward_through_scratch(
                4, false, recording.sink(), asio::as_tuple(asio::use_awaitable));
            CHECK(ec == asio::error::eof);
            REQUIRE(recording.chunks.size() == 2);
            CHECK(recording.chunks[0].first == "abcd");
            CHECK(recording.chunks[1].first == "efgh");
            CHECK(recording.chunks[0].second == net::edge_reader::on_reactor);
            // Behind "efgh" only the FIN is queued, which the kernel counts as more.
            CHECK(recording.chunks[1].second == net::edge_reader::on_reactor);
        },
        10s);
}

/// A sink that sends each chunk back on the socket it was read from, as the echo does.
struct sending_back_sink {
    int descriptor = -1;
    std::string kept;
    int send_errno = 0;

    bool take(const char* data, std::size_t size) noexcept {
        kept.append(data, size);
        const ssize_t n = ::send(descriptor, data, size, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            send_errno = errno;
            return false;
        }
        return static_cast<std::size_t>(n) == size;
    }

    net::chunk_sink sink() { return net::sink_to(*this); }
};

// Proves what the echo relies on to need no recheck: a reset that arrives together with the
// last bytes (one readiness event for both; the reader would then park, as the proxy's relay
// does) makes the send of those bytes back on the same socket fail, which ends the read.
// One thread: the data and the reset are both in the kernel before the reactor looks.
TEST_CASE("edge_reader: sending back on the read socket finds a reset that came with the data") {
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            auto [ours, peer] = co_await connected_pair();
            net::edge_reader reader(ours);
            sending_back_sink back;
            back.descriptor = ours.tcp_socket().native_handle();
            auto executor = co_await asio::this_coro::executor;
            auto ended =
                co_await (reader.async_forward_through_scratch(
                              64, false, back.sink(), asio::as_tuple(asio::use_awaitable)) ||
                              [&]() -> asio::awaitable<void> {
                    co_await asio::post(executor, asio::use_awaitable);  // the read is parked
                    asio::write(peer, asio::buffer(std::string_view("last")));
                    reset(peer);
                    co_await asio::steady_timer(executor, 10s).async_wait(asio::use_awaitable);
                }());
            REQUIRE(ended.index() == 0);  // the read ended; the timer did not
            const auto [ec, n] = std::get<0>(ended);
            CHECK(back.kept == "last");  // the bytes came first
            CHECK(back.send_errno != 0);
            CHECK(!ec);
            CHECK(n == 4);
        },
        20s);
}

// Proves a cancel ends a forwarding read parked after its sink took a chunk, reporting 0
// bytes (the chunk is the sink's, not the read's to report again): through the operation's
// cancellation slot on either path, and through cancel_read() on the reactor path.
TEST_CASE("edge_reader: a cancelled forwarding read reports no bytes") {
    bool by_cancel_read = false;
    SUBCASE("through the slot") {}
    if (net::edge_reader::on_reactor) {
        SUBCASE("through cancel_read") { by_cancel_read = true; }
    }
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            auto [ours, peer] = co_await connected_pair();
            net::edge_reader reader(ours);
            keeping_sink sink;
            co_await write_all(peer, "one");
            auto executor = co_await asio::this_coro::executor;
            std::array<char, 64> buffer{};
            asio::cancellation_signal cancel;
            // The operators start the read first: it finds "one" at once, hands it over and
            // parks; the cancel comes from the other branch, after one turn of the executor.
            auto parked = co_await (
                reader.async_forward(asio::buffer(buffer), false, sink.sink(),
                                     asio::bind_cancellation_slot(
                                         cancel.slot(), asio::as_tuple(asio::use_awaitable))) ||
                    [&]() -> asio::awaitable<void> {
                    co_await asio::post(executor, asio::use_awaitable);
                    CHECK(sink.kept == "one");
                    if (by_cancel_read) {
                        net::edge_reader::cancel_read(ours);
                    } else {
                        cancel.emit(asio::cancellation_type::total);
                    }
                    co_await asio::steady_timer(executor, 10s).async_wait(asio::use_awaitable);
                }());
            REQUIRE(parked.index() == 0);
            const auto [ec, n] = std::get<0>(parked);
            CHECK(ec == asio::error::operation_aborted);
            CHECK(n == 0);
            CHECK(sink.chunks == 1);
        },
        10s);
}

}  // namespace
}  // namespace pier::test
