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

TEST_CASE("connection caps: a global cap set later counts the connections taken before it") {
    connection_cap cap(0);
    CHECK(cap.try_take());
    CHECK(cap.try_take());
    cap.set_limit(2);  // a reload turns the cap on with two connections live
    CHECK_FALSE(cap.try_take());
    cap.give_back();
    CHECK(cap.try_take());
    cap.set_limit(1);  // lowered below what is in use: nothing is taken away, nothing new fits
    CHECK(cap.in_use() == 2);
    CHECK_FALSE(cap.try_take());
    cap.give_back();
    cap.give_back();
    CHECK(cap.try_take());
    cap.set_limit(0);
    CHECK(cap.try_take());
    CHECK(cap.in_use() == 2);
}

TEST_CASE("connection caps: take_peak reports the most in use since the last call") {
    connection_cap cap(0);
    CHECK(cap.take_peak() == 0);
    for (int i = 0; i < 3; ++i) CHECK(cap.try_take());
    for (int i = 0; i < 3; ++i) cap.give_back();
    CHECK(cap.in_use() == 0);
    CHECK(cap.take_peak() == 3);  // a burst that came and went between two calls
    CHECK(cap.take_peak() == 0);
    CHECK(cap.try_take());
    CHECK(cap.take_peak() == 1);  // starts over from what is in use, not from 0
    cap.give_back();
    CHECK(cap.take_peak() == 1);
    connection_cap full(1);
    CHECK(full.try_take());
    CHECK_FALSE(full.try_take());
    CHECK(full.take_peak() == 1);  // a refused attempt never counts
}

TEST_CASE("connection caps: the per-address cap counts each address on its own") {
    per_address_cap cap(2);
    const auto a = make_address("10.0.0.1");
    const auto b = make_address("::1");
    using outcome = per_address_cap::outcome;
    CHECK(cap.try_take(a) == outcome::taken);
    CHECK(cap.try_take(a) == outcome::taken);
    CHECK(cap.try_take(a) == outcome::refused);
    CHECK(cap.try_take(b) == outcome::taken);
    cap.give_back(a);
    CHECK(cap.try_take(a) == outcome::taken);
    cap.give_back(b);
    cap.give_back(b);  // more than taken: ignored, not negative
    CHECK(cap.try_take(b) == outcome::taken);
    CHECK(cap.try_take(b) == outcome::taken);
    CHECK(cap.try_take(b) == outcome::refused);
}

TEST_CASE("connection caps: a per-address cap changed by a reload keeps its slots exact") {
    using outcome = per_address_cap::outcome;
    per_address_cap cap(0);
    const auto a = make_address("10.0.0.1");
    CHECK(cap.try_take(a) == outcome::untracked);  // no cap: nothing to give back
    cap.set_limit(1);
    CHECK(cap.try_take(a) == outcome::taken);  // counted from the reload on
    CHECK(cap.try_take(a) == outcome::refused);
    cap.set_limit(0);
    CHECK(cap.try_take(a) == outcome::untracked);
    cap.give_back(a);  // the slot taken under the cap
    cap.set_limit(1);
    CHECK(cap.try_take(a) == outcome::taken);
}
