// doctest's runner, shared by every test binary. Raises the soft open-file limit first, as
// pierd does: a login shell's default of 1024 is too low for the 1,000-connection tests
// (client and server sockets live in the same process).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "pier/runtime/open_file_limit.hpp"

int main(int argc, char** argv) {
    pier::runtime::raise_open_file_limit();
    return doctest::Context(argc, argv).run();
}
