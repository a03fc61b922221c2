// Must not compile: the handlers layer sees only its own headers and those of the layers below
// it, and admin is above it (ARCHITECTURE.md, "Layers"). tests/CMakeLists.txt builds this
// against pier_handlers and expects the compiler to report the header missing.
#include "pier/admin/metrics.hpp"
