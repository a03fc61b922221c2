#include "pier/config/config_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string_view>
#include <system_error>

namespace pier::config {
namespace {

/// What a file that is not a regular one is, in the words of ls(1) and find(1).
std::string_view kind_of(mode_t mode) {
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISSOCK(mode)) return "a socket";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    return "not a file";
}

std::string not_regular(mode_t mode) {
    return "not a regular file (" + std::string(kind_of(mode)) + ")";
}

std::string cannot_read(int error_number) {
    return "cannot read: " + std::generic_category().message(error_number);
}

std::string too_large(std::uintmax_t max_bytes) {
    return "larger than " + std::to_string(max_bytes) + " bytes, the most a config may hold";
}

/// Closes the descriptor on every way out.
struct descriptor {
    int fd;
    ~descriptor() {
        if (fd >= 0) ::close(fd);
    }
};

}  // namespace

result<std::string> read_config_file(const std::filesystem::path& path, std::uintmax_t max_bytes) {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever. It
    // changes nothing for the regular file that is read below. O_NOCTTY: a terminal device
    // named by mistake must not become the daemon's controlling terminal.
    const descriptor file{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)};
    if (file.fd < 0) {
        const int error_number = errno;
        // A socket cannot be opened (ENXIO); its kind says more than the errno does.
        struct stat status {};
        if (::stat(path.c_str(), &status) == 0 && !S_ISREG(status.st_mode)) {
            return failure{not_regular(status.st_mode)};
        }
        return failure{cannot_read(error_number)};
    }
    // fstat, not stat: the descriptor's file is the one read, whatever the path names by now.
    struct stat status {};
    if (::fstat(file.fd, &status) != 0) return failure{cannot_read(errno)};
    if (!S_ISREG(status.st_mode)) return failure{not_regular(status.st_mode)};
    if (static_cast<std::uintmax_t>(status.st_size) > max_bytes) {
        return failure{too_large(max_bytes)};
    }
    // The size is a hint only (a file may grow while it is read; /proc's report 0): the loop
    // stops one byte past the limit whatever the file does.
    std::string text;
    text.reserve(static_cast<std::size_t>(status.st_size));
    char buffer[16 * 1024];
    for (;;) {
        const ssize_t n = ::read(file.fd, buffer, sizeof buffer);
        if (n == 0) break;
        if (n < 0) {
            if (errno == EINTR) continue;
            return failure{cannot_read(errno)};  // what was read is freed with `text`
        }
        if (text.size() + static_cast<std::size_t>(n) > max_bytes) {
            return failure{too_large(max_bytes)};
        }
        text.append(buffer, static_cast<std::size_t>(n));
    }
    return text;
}

std::optional<std::size_t> find_non_text(std::string_view text) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    const auto continuation = [&](std::size_t i) {
        return i < text.size() && (byte(i) & 0xC0) == 0x80;
    };
    std::size_t i = 0;
    while (i < text.size()) {
        const unsigned lead = byte(i);
        if (lead == 0) return i;
        if (lead < 0x80) {
            ++i;
            continue;
        }
        // The sequence's length and the range its second byte must fall in (RFC 3629, 4).
        std::size_t length = 0;
        unsigned low = 0x80;
        unsigned high = 0xBF;
        if (lead >= 0xC2 && lead <= 0xDF) {
            length = 2;
        } else if (lead >= 0xE0 && lead <= 0xEF) {
            length = 3;
            if (lead == 0xE0) low = 0xA0;   // overlong
            if (lead == 0xED) high = 0x9F;  // surrogates
        } else if (lead >= 0xF0 && lead <= 0xF4) {
            length = 4;
            if (lead == 0xF0) low = 0x90;   // overlong
            if (lead == 0xF4) high = 0x8F;  // past U+10FFFF
        } else {
            return i;  // a continuation byte without a lead, C0, C1 or F5..FF
        }
        if (i + 1 >= text.size() || byte(i + 1) < low || byte(i + 1) > high) return i;
        for (std::size_t k = 2; k < length; ++k) {
            if (!continuation(i + k)) return i;
        }
        i += length;
    }
    return std::nullopt;
}

}  // namespace pier::config
