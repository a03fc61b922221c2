// Must not compile: the runtime layer sees only its own headers and those of the layers below
// it, and net is above it (ARCHITECTURE.md, "Layers"). tests/CMakeLists.txt builds this
// against pier_runtime and expects the compiler to report the header missing.
#include "pier/net/connection.hpp"
