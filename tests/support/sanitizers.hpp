// Whether this build runs under a sanitizer. The tests and the pierd they start are built with
// the same preset's flags, so this also says what the pierd under test was built with.
#pragma once

namespace pier::test {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
/// ASan and TSan replace malloc with allocators that hold freed memory (in quarantine, in their
/// own caches) and ignore malloc_trim: a check that freed memory leaves the resident set only
/// means something without them.
inline constexpr bool sanitizer_allocator = true;
#else
inline constexpr bool sanitizer_allocator = false;
#endif

}  // namespace pier::test
