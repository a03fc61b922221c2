#include "support/http_client.hpp"

#include <doctest/doctest.h>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace pier::test {

asio::awaitable<http_reply> exchange_and_close(const tcp::endpoint& endpoint,
                                               const std::string& request) {
    auto socket = co_await connect_to(endpoint);
    co_await asio::async_write(socket, asio::buffer(request), asio::use_awaitable);
    boost::system::error_code ended;
    const auto all = co_await read_to_end(socket, ended);
    http_reply reply;
    REQUIRE(all.size() >= 12);
    reply.status = static_cast<unsigned>(std::stoul(all.substr(9, 3)));
    const auto head_end = all.find("\r\n\r\n");
    reply.head = all.substr(0, head_end);
    if (head_end != std::string::npos) reply.body = all.substr(head_end + 4);
    co_return reply;
}

asio::awaitable<http_reply> get(const tcp::endpoint& endpoint, const std::string& target) {
    co_return co_await exchange_and_close(
        endpoint, "GET " + target + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
}

bool has_line(const std::string& text, const std::string& line) {
    return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

}  // namespace pier::test
