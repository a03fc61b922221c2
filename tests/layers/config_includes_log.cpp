// Must not compile: the config layer sees only its own headers and those of the layers below
// it, and log is above it (ARCHITECTURE.md, "Layers"). tests/CMakeLists.txt builds this
// against pier_config and expects the compiler to report the header missing.
#include "pier/log/logging.hpp"
