// Reading the cgroup memory limit, on cgroup trees built in a temporary directory: v2 and v1,
// limits on ancestors, "max" and v1's unlimited value, and a cgroup namespace whose path the
// mount does not show.
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include <doctest/doctest.h>

#include "pier/daemon/cgroup_memory.hpp"

namespace pier::daemon {
namespace {

namespace fs = std::filesystem;

/// A directory tree removed at the end of the test.
class cgroup_tree {
public:
    cgroup_tree() {
        static std::atomic<int> counter{0};
        root_ = fs::temp_directory_path() /
                ("pier-cgroup-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
        fs::create_directories(root_);
    }
    ~cgroup_tree() {
        std::error_code ignored;
        fs::remove_all(root_, ignored);
    }
    cgroup_tree(const cgroup_tree&) = delete;
    cgroup_tree& operator=(const cgroup_tree&) = delete;

    const fs::path& root() const { return root_; }
    /// Writes `content` to `relative` (creating its directories).
    void write(const std::string& relative, const std::string& content) {
        const auto path = root_ / relative;
        fs::create_directories(path.parent_path());
        std::ofstream(path) << content << "\n";
    }

private:
    fs::path root_;
};

constexpr std::uint64_t GiB = 1024 * 1024 * 1024;

// Proves cgroup v2: the process's own memory.max is found; a lower limit on an ancestor (a
// slice) wins; "max" at any level is no limit.
TEST_CASE("cgroup memory: v2 reads memory.max along the path, the smallest wins") {
    cgroup_tree t;
    t.write("system.slice/pier.service/memory.max", std::to_string(4 * GiB));
    t.write("system.slice/memory.max", "max");
    const std::string self = "0::/system.slice/pier.service\n";
    auto limit = read_cgroup_memory_limit(self, t.root());
    REQUIRE(limit);
    CHECK(limit->bytes == 4 * GiB);
    CHECK(limit->file == t.root() / "system.slice/pier.service/memory.max");

    t.write("system.slice/memory.max", std::to_string(2 * GiB));
    limit = read_cgroup_memory_limit(self, t.root());
    REQUIRE(limit);
    CHECK(limit->bytes == 2 * GiB);
    CHECK(limit->file == t.root() / "system.slice/memory.max");

    t.write("system.slice/memory.max", "max");
    t.write("system.slice/pier.service/memory.max", "max");
    CHECK_FALSE(read_cgroup_memory_limit(self, t.root()));
}

// Proves cgroup v1 (the memory controller's own line, also when it shares a hierarchy with
// others), and that v1's "unlimited" is returned as the huge number it is (the caller takes
// the smaller of it and physical memory).
TEST_CASE("cgroup memory: v1 reads memory.limit_in_bytes of the memory hierarchy") {
    cgroup_tree t;
    t.write("memory/docker/abc/memory.limit_in_bytes", std::to_string(512 * 1024 * 1024));
    t.write("memory/memory.limit_in_bytes", "9223372036854771712");
    const std::string self =
        "12:pids:/docker/abc\n4:cpuacct,memory:/docker/abc\n1:name=systemd:/docker/abc\n0::/\n";
    const auto limit = read_cgroup_memory_limit(self, t.root());
    REQUIRE(limit);
    CHECK(limit->bytes == 512 * 1024 * 1024);
    CHECK(limit->file == t.root() / "memory/docker/abc/memory.limit_in_bytes");

    // Unlimited: only the root's huge value is left.
    t.write("memory/docker/abc/memory.limit_in_bytes", "9223372036854771712");
    const auto unlimited = read_cgroup_memory_limit(self, t.root());
    REQUIRE(unlimited);
    CHECK(unlimited->bytes == 9223372036854771712ULL);
}

// Proves a cgroup namespace (a container): the path names groups the mount does not show, so
// the levels that exist, down to the mount's root (the container's own group), are read.
TEST_CASE("cgroup memory: in a cgroup namespace the mount's root is the group") {
    cgroup_tree t;
    t.write("memory.max", std::to_string(GiB));
    const auto limit = read_cgroup_memory_limit("0::/kubepods/pod1/ctr\n", t.root());
    REQUIRE(limit);
    CHECK(limit->bytes == GiB);
    CHECK(read_cgroup_memory_limit("0::/\n", t.root())->bytes == GiB);
}

// Proves malformed input and missing files mean "no limit", never a crash or a bogus value,
// and a path climbing out of the mount reads nothing outside it.
TEST_CASE("cgroup memory: garbage and absent files give no limit") {
    cgroup_tree t;
    t.write("a/memory.max", "12abc");
    t.write("memory/memory.limit_in_bytes", "");
    t.write("outside/memory.max", "1");
    for (const std::string self : {"", "garbage", "0::/a\n", "3:memory:/\n", "::::\n",
                                   "5:memoryx:/a\n", "0:cpu:/a\n", "0::/../outside\n"}) {
        CAPTURE(self);
        CHECK_FALSE(read_cgroup_memory_limit(self, t.root()));
    }
    CHECK_FALSE(read_cgroup_memory_limit("0::/a\n", t.root() / "absent"));
}

}  // namespace
}  // namespace pier::daemon
