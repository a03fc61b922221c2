// Must not compile: the net layer sees only its own headers and those of the layers below
// it, and handlers is above it (ARCHITECTURE.md, "Layers"). tests/CMakeLists.txt builds this
// against pier_net and expects the compiler to report the header missing.
#include "pier/handlers/registry.hpp"
