// connection_slots and reserve_descriptor: the admin endpoint's way of letting a probe in.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "pier/admin/connection_slots.hpp"
#include "pier/admin/reserve_descriptor.hpp"

namespace pier::admin {
namespace {

/// Which file `fd` refers to (device and inode), or nullopt when it is not open.
std::optional<std::pair<dev_t, ino_t>> file_of(int fd) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return std::nullopt;
    return std::pair{st.st_rdev, st.st_ino};
}

/// A connection for the tests: its name goes to `closed` when it is closed; `unread` says
/// whether it has input waiting.
struct fake_connection {
    std::string name;
    std::vector<std::string>& closed;
    bool unread = false;
    std::function<void()> close() {
        return [this] { closed.push_back(name); };
    }
    std::function<bool()> has_unread_input() {
        return [this] { return unread; };
    }
};

// Proves slots fill up to capacity without closing anything, then each new connection closes
// the one with the oldest progress: a touch() moves a connection to the back.
TEST_CASE("connection_slots: the connection longest without progress makes room") {
    connection_slots slots(3);
    std::vector<std::string> closed;
    fake_connection fa{"a", closed}, fb{"b", closed}, fc{"c", closed}, fd{"d", closed};
    CHECK(slots.make_room() == 0);
    connection_slots::slot a(slots, fa.close(), fa.has_unread_input());
    CHECK(slots.make_room() == 0);
    connection_slots::slot b(slots, fb.close(), fb.has_unread_input());
    CHECK(slots.make_room() == 0);
    connection_slots::slot c(slots, fc.close(), fc.has_unread_input());
    CHECK(slots.size() == 3);

    a.touch();  // a read a request: b is now the one longest without progress
    CHECK(slots.make_room() == 1);
    CHECK(closed == std::vector<std::string>{"b"});
    CHECK(b.reclaimed());
    CHECK_FALSE(a.reclaimed());
    CHECK(slots.size() == 2);
    {
        connection_slots::slot d(slots, fd.close(), fd.has_unread_input());
        CHECK(slots.make_room() == 1);  // c is oldest now
        CHECK(closed == std::vector<std::string>{"b", "c"});
        b.touch();  // a reclaimed slot stays out of the order
        CHECK(slots.size() == 2);
    }
    CHECK(slots.size() == 1);  // d gave its slot back; b and c had theirs taken
    CHECK(slots.make_room() == 0);
}

// Proves a connection with unread input (a probe whose request has arrived) is passed over for
// the next oldest, and that when every connection has input waiting the oldest still goes.
TEST_CASE("connection_slots: a connection with input waiting is passed over") {
    connection_slots slots(2);
    std::vector<std::string> closed;
    fake_connection fprobe{"probe", closed, true}, fflood{"flood", closed}, fnext{"next", closed};
    connection_slots::slot probe(slots, fprobe.close(), fprobe.has_unread_input());
    connection_slots::slot flood(slots, fflood.close(), fflood.has_unread_input());
    CHECK(slots.make_room() == 1);
    CHECK(closed == std::vector<std::string>{"flood"});
    connection_slots::slot next(slots, fnext.close(), fnext.has_unread_input());
    fnext.unread = true;
    CHECK(slots.make_room() == 1);
    CHECK(closed == std::vector<std::string>{"flood", "probe"});
}

// Proves the reserve's number is free after release() (an open() takes it), and that
// take_back() turns the descriptor given back into the reserve under the same number.
TEST_CASE("reserve_descriptor: released for one accept, taken back under the same number") {
    reserve_descriptor reserve;
    REQUIRE(reserve.held());

    REQUIRE(reserve.release());
    CHECK_FALSE(reserve.held());
    CHECK_FALSE(reserve.release());  // nothing left to release
    // What an accept would get: the lowest free number, a file other than /dev/null.
    const int accepted = ::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    REQUIRE(accepted >= 0);
    const auto before = file_of(accepted);
    reserve.take_back(accepted);
    CHECK(reserve.held());
    // The number stays open, now on /dev/null.
    const auto after = file_of(accepted);
    REQUIRE(after.has_value());
    CHECK(after != before);
    const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    CHECK(file_of(null) == after);
    ::close(null);

    // A second take_back while one is held closes what it is given.
    const int extra = ::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    REQUIRE(extra >= 0);
    reserve.take_back(extra);
    CHECK_FALSE(file_of(extra).has_value());
}

// Proves refill() opens a reserve again after one was released and not taken back.
TEST_CASE("reserve_descriptor: refill() opens a new reserve when none is held") {
    reserve_descriptor reserve;
    REQUIRE(reserve.release());
    reserve.refill();
    CHECK(reserve.held());
}

}  // namespace
}  // namespace pier::admin
