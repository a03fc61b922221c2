// Must not compile: the admin layer sees only its own headers and those of the layers below
// it, and daemon is above it (ARCHITECTURE.md, "Layers"). tests/CMakeLists.txt builds this
// against pier_admin and expects the compiler to report the header missing.
#include "pier/daemon/server.hpp"
