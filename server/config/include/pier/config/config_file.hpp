// Reading a config file's bytes, safely: what the path names is checked before anything is read.
//
// A config path is given by an operator and re-read on every reload, so a mistake there (a FIFO,
// a directory, /dev/zero, a 2 GB log file) must fail at once with a message, never block the
// thread that reads it (the signal loop, for a reload) or make it allocate without bound.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "pier/config/result.hpp"

namespace pier::config {

/// The largest config file accepted. A config is kilobytes; 16 MiB leaves room for generated
/// ones with long comments, while bounding what reading one can cost. (What parsing one can cost
/// is bounded by max_config_nodes.)
inline constexpr std::uintmax_t max_config_bytes = 16 * 1024 * 1024;

/// The most YAML nodes (maps, sequences, values) a config may hold, checked before the tree is
/// built: yaml-cpp's tree costs a few hundred bytes per node, whatever the file's size. A
/// listener is about ten nodes, so this allows thousands of listeners and upstreams.
inline constexpr std::size_t max_config_nodes = 100'000;

/// Reads `path` if it names a regular file of at most `max_bytes` bytes (symbolic links are
/// followed). Anything else (a FIFO, a socket, a device, a directory, a larger file) is refused
/// before its contents are read; opening never waits for a FIFO's writer. The contents, or why
/// they could not be had: one line without the path, e.g. "not a regular file (a FIFO)".
result<std::string> read_config_file(const std::filesystem::path& path,
                                     std::uintmax_t max_bytes = max_config_bytes);

/// The offset of the first byte that is not UTF-8 text: a NUL, or a byte outside a well-formed
/// UTF-8 sequence (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF). YAML
/// parsers guess UTF-16 or UTF-32 from NULs at the start, and turn such a file into garbled
/// text; pier's config is UTF-8 and is refused, with a position, when it is not.
std::optional<std::size_t> find_non_text(std::string_view text);

}  // namespace pier::config
