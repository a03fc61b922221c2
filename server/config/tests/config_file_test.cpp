// Unit tests for config_file.hpp: what read_config_file refuses before reading (and that it
// never waits), and find_non_text's idea of UTF-8 text.
#include <doctest/doctest.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "pier/config/config_file.hpp"

using namespace pier::config;

namespace {

/// A fresh directory under /tmp, removed with everything in it.
class scratch_dir {
public:
    scratch_dir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "pier-config-XXXXXX");
        REQUIRE(::mkdtemp(pattern.data()) != nullptr);
        path_ = pattern;
    }
    ~scratch_dir() { std::filesystem::remove_all(path_); }
    std::filesystem::path file(const std::string& name, const std::string& contents) const {
        const auto path = path_ / name;
        std::ofstream(path, std::ios::binary) << contents;
        return path;
    }
    std::filesystem::path path() const { return path_; }

private:
    std::filesystem::path path_;
};

std::string error_of(const std::filesystem::path& path, std::uintmax_t max_bytes = 1024) {
    const auto result = read_config_file(path, max_bytes);
    REQUIRE_FALSE(result);
    return result.error();
}

}  // namespace

TEST_CASE("config file: a regular file is read whole, through a symbolic link too") {
    scratch_dir dir;
    const auto path = dir.file("pier.yaml", "listeners: []\n");
    std::filesystem::create_symlink(path, dir.path() / "link.yaml");
    for (const auto& name : {path, dir.path() / "link.yaml"}) {
        const auto result = read_config_file(name);
        REQUIRE(result);
        CHECK(result.value() == "listeners: []\n");
    }
}

// Proves a FIFO is refused at once: before the fix, opening it waited for a writer forever.
TEST_CASE("config file: a FIFO, a directory, a device and a socket are refused unread") {
    scratch_dir dir;
    const auto fifo = dir.path() / "fifo.yaml";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    CHECK(error_of(fifo) == "not a regular file (a FIFO)");
    // Replaced by a link to a FIFO, as in a reload: the link is followed, then refused.
    std::filesystem::create_symlink(fifo, dir.path() / "link.yaml");
    CHECK(error_of(dir.path() / "link.yaml") == "not a regular file (a FIFO)");
    CHECK(error_of(dir.path()) == "not a regular file (a directory)");
    CHECK(error_of("/dev/zero") == "not a regular file (a character device)");

    const auto socket_path = dir.path() / "s.yaml";
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, socket_path.c_str(), sizeof address.sun_path - 1);
    REQUIRE(::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
    CHECK(error_of(socket_path) == "not a regular file (a socket)");
    ::close(fd);
}

TEST_CASE("config file: a missing file names the reason") {
    CHECK(error_of("/nonexistent-pier-dir/pier.yaml") == "cannot read: No such file or directory");
}

// Proves the size cap holds at the limit's edge: max_bytes is accepted, one more is not.
TEST_CASE("config file: a file larger than the limit is refused") {
    scratch_dir dir;
    CHECK(read_config_file(dir.file("at.yaml", std::string(1024, '#')), 1024));
    CHECK(error_of(dir.file("over.yaml", std::string(1025, '#'))) ==
          "larger than 1024 bytes, the most a config may hold");
    CHECK(max_config_bytes == 16 * 1024 * 1024);
}

// /proc's files say they are empty and are not: the read itself stops at the limit.
TEST_CASE("config file: the limit holds for a file whose size is not known in advance") {
    CHECK(error_of("/proc/self/maps", 16) == "larger than 16 bytes, the most a config may hold");
}

TEST_CASE("config file: find_non_text") {
    CHECK_FALSE(find_non_text("").has_value());
    CHECK_FALSE(find_non_text("name: caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x9a\xa2\n").has_value());
    CHECK(find_non_text(std::string("a\0b", 3)) == 1u);                 // NUL
    CHECK(find_non_text(std::string_view("\xff\xfel\0i\0", 6)) == 0u);  // UTF-16 byte-order mark
    CHECK(find_non_text("ab\x80") == 2u);                               // continuation alone
    CHECK(find_non_text("\xc0\xaf") == 0u);                             // overlong '/'
    CHECK(find_non_text("\xe0\x80\xaf") == 0u);                         // overlong, 3 bytes
    CHECK(find_non_text("\xed\xa0\x80") == 0u);                         // a surrogate
    CHECK(find_non_text("\xf4\x90\x80\x80") == 0u);                     // past U+10FFFF
    CHECK(find_non_text("x\xe2\x82") == 1u);                            // cut short at the end
    CHECK(find_non_text("\xe2\x82x") == 0u);                            // cut short by ASCII
}
