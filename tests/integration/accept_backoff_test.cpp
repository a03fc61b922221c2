// Descriptor exhaustion: when accept() fails with EMFILE the listener backs off instead of
// spinning, and admits the waiting client as soon as a descriptor is free again.
#include <dirent.h>
#include <sys/resource.h>

#include <doctest/doctest.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cstdlib>
#include <set>
#include <vector>

#include "support/test_client.hpp"

namespace pier::test {
namespace {

using namespace boost::asio::experimental::awaitable_operators;

/// The open-file limit that leaves exactly `free_slots` descriptor numbers unused. Numbers are
/// handed out lowest first and the limit caps the number, not the count, so holes count as free.
rlim_t limit_leaving_free(std::size_t free_slots) {
    std::set<int> open;
    DIR* dir = opendir("/proc/self/fd");
    REQUIRE(dir != nullptr);
    while (const dirent* entry = readdir(dir)) {
        if (entry->d_name[0] != '.') open.insert(std::atoi(entry->d_name));
    }
    open.erase(dirfd(dir));
    closedir(dir);
    int number = 0;
    for (std::size_t seen_free = 0;; ++number) {
        if (!open.contains(number) && ++seen_free == free_slots) break;
    }
    return static_cast<rlim_t>(number + 1);
}

/// Lowers this process's open-file limit for the scope of one test.
class descriptor_limit {
public:
    explicit descriptor_limit(rlim_t soft) {
        REQUIRE(getrlimit(RLIMIT_NOFILE, &saved_) == 0);
        rlimit lowered = saved_;
        lowered.rlim_cur = soft;
        REQUIRE(setrlimit(RLIMIT_NOFILE, &lowered) == 0);
    }
    ~descriptor_limit() { setrlimit(RLIMIT_NOFILE, &saved_); }

private:
    rlimit saved_{};
};

// Proves the EMFILE path: with descriptors exhausted the accept loop retries a handful of
// times in half a second (backoff, not a busy loop), and the pending client is served once a
// descriptor frees up.
TEST_CASE("listener: EMFILE backs off and recovers when descriptors free up") {
    running_server server(echo_config());
    constexpr std::size_t admitted_first = 4;
    run_with_timeout(
        [&]() -> asio::awaitable<void> {
            // Room for 4 client/server socket pairs plus one more client socket: the server's
            // accept of that fifth client fails with EMFILE.
            // Created first: it makes Asio open this context's reactor descriptors now.
            asio::steady_timer window(co_await asio::this_coro::executor);
            descriptor_limit limit(limit_leaving_free(2 * admitted_first + 1));
            std::vector<tcp::socket> clients;
            for (std::size_t i = 0; i < admitted_first; ++i) {
                clients.push_back(co_await connect_to(server.endpoint()));
                const auto payload = make_payload(10, static_cast<unsigned>(i));
                CHECK(co_await echo_exchange(clients.back(), payload) == payload);
            }
            auto waiting = co_await connect_to(server.endpoint());
            const auto payload = make_payload(10, 99);
            co_await asio::async_write(waiting, asio::buffer(payload), asio::use_awaitable);
            std::string echoed(payload.size(), '\0');

            // Half a second of exhaustion: no echo can come, and the accept loop should have
            // tried only a few times (10ms backoff doubling: about 6 tries).
            window.expires_after(500ms);
            auto first =
                co_await (asio::async_read(waiting, asio::buffer(echoed), asio::use_awaitable) ||
                          window.async_wait(asio::use_awaitable));
            REQUIRE(first.index() == 1);
            const auto errors = server.listener().stats().accept_errors.load();
            CHECK(errors >= 1);
            CHECK(errors <= 20);

            // Free a pair of descriptors: the waiting client is admitted and served.
            clients[0].close();
            co_await asio::async_read(waiting, asio::buffer(echoed), asio::use_awaitable);
            CHECK(echoed == payload);
        },
        20s);
    CHECK(server.listener().stats().accepted.load() == admitted_first + 1);
}

}  // namespace
}  // namespace pier::test
