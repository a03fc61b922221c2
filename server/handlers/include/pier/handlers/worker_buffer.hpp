// The worker thread's read buffer, shared by the handlers of every connection that runs on the
// thread, so an idle connection holds no buffer of its own.
//
// Safe because every use ends before the coroutine next suspends: a handler reads into it and
// copies out what it must keep (bytes still unsent, a partial request line) before any co_await.
#pragma once

#include <cstddef>
#include <vector>

namespace pier::handlers {

/// At least `size` bytes, valid until the calling coroutine next suspends.
inline std::vector<char>& worker_buffer(std::size_t size) {
    thread_local std::vector<char> buffer;
    if (buffer.size() < size) buffer.resize(size);
    return buffer;
}

}  // namespace pier::handlers
