// Unit tests for the connection caps shared across listeners and per client address.
#include <doctest/doctest.h>

#include "pier/net/connection_caps.hpp"

using namespace pier::net;
using boost::asio::ip::make_address;

TEST_CASE("connection caps: a global cap hands out `limit` slots and takes them back") {
    connection_cap cap(2);
    CHECK(cap.try_take());
    CHECK(cap.try_take());
    CHECK_FALSE(cap.try_take());
    CHECK(cap.in_use() == 2);  // the refused attempt took nothing
    cap.give_back();
    CHECK(cap.try_take());
    connection_cap none(0);
    for (int i = 0; i < 1000; ++i) CHECK(none.try_take());
}

TEST_CASE("connection caps: the per-address cap counts each address on its own") {
    per_address_cap cap(2);
    const auto a = make_address("10.0.0.1");
    const auto b = make_address("::1");
    CHECK(cap.try_take(a));
    CHECK(cap.try_take(a));
    CHECK_FALSE(cap.try_take(a));
    CHECK(cap.try_take(b));
    cap.give_back(a);
    CHECK(cap.try_take(a));
    cap.give_back(b);
    cap.give_back(b);  // more than taken: ignored, not negative
    CHECK(cap.try_take(b));
    CHECK(cap.try_take(b));
    CHECK_FALSE(cap.try_take(b));
}
