// Where Asio's epoll reactor takes its per-socket states from: a slot_arena of their own, so
// that the states it keeps for reuse after a burst of connections do not hold the rest of the
// heap (the why is in server/runtime/src/asio_impl.cpp, which does it). Any thread.
#pragma once

#include <cstddef>

namespace pier::runtime {

/// Whether this build packs the reactor's states (on the reactor path of edge_reader.cmake).
bool reactor_states_packed();

/// The reactor states allocated now, in use or kept for reuse by a reactor (0 when not packed).
std::size_t reactor_states_allocated();

}  // namespace pier::runtime
