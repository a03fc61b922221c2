#include "pier/admin/reserve_descriptor.hpp"

#include <fcntl.h>
#include <unistd.h>

namespace pier::admin {

reserve_descriptor::reserve_descriptor() : source_(::open("/dev/null", O_RDONLY | O_CLOEXEC)) {
    refill();
}

reserve_descriptor::~reserve_descriptor() {
    if (reserve_ >= 0) ::close(reserve_);
    if (source_ >= 0) ::close(source_);
}

bool reserve_descriptor::release() {
    if (reserve_ < 0) return false;
    ::close(reserve_);
    reserve_ = -1;
    return true;
}

void reserve_descriptor::take_back(int fd) {
    if (fd < 0) return;
    if (reserve_ >= 0 || source_ < 0) {
        ::close(fd);
        return;
    }
    // dup3 replaces the connection's file with /dev/null in one step (O_CLOEXEC like the rest):
    // the number stays taken throughout.
    if (::dup3(source_, fd, O_CLOEXEC) == fd) {
        reserve_ = fd;
    } else {
        ::close(fd);
    }
}

void reserve_descriptor::refill() {
    if (reserve_ >= 0 || source_ < 0) return;
    reserve_ = ::fcntl(source_, F_DUPFD_CLOEXEC, 0);  // -1 while no descriptor is free
}

}  // namespace pier::admin
