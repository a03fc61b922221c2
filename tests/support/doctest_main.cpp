// doctest's runner, shared by every test binary. Raises the soft open-file limit first: a
// login shell's default of 1024 is too low for the 1,000-connection tests (client and server
// sockets live in the same process).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <sys/resource.h>

int main(int argc, char** argv) {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
    return doctest::Context(argc, argv).run();
}
