// Must not compile: the tls layer sees only its own headers and config's, and net is above it
// (ARCHITECTURE.md, "Layers"). tests/CMakeLists.txt builds this against pier_tls and expects
// the compiler to report the header missing.
#include "pier/net/connection.hpp"
