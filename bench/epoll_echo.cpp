// epoll_echo: a minimal echo server written directly on epoll, the reference that pierd's echo
// handler is measured against ("how close to the syscall limit are we").
//
// One worker thread per core (or --threads N). Each worker owns a SO_REUSEPORT listening socket
// bound to the same address and its own epoll instance, so the kernel spreads connections over
// the workers and no state, lock or wake-up is shared between them. Sockets are non-blocking
// and edge-triggered. Per request the steady state costs one read, one write and a share of one
// epoll_wait: nothing else happens in user space but a loop.
//
// Memory is bounded like pier's echo: a partial write keeps only the unsent remainder (at most
// one read buffer) on the connection, and that connection reads nothing more until it drains.
//
// The main thread owns only the signal handling: SIGTERM/SIGINT are blocked in every thread and
// read from a signalfd; main then wakes the workers through an eventfd, joins them and exits 0.
//
// usage: epoll_echo [--port N] [--threads N]     (port 0 = kernel picks; 127.0.0.1 only)
// prints "listening port=N" on stdout once every socket is bound.
//
// build: g++ -std=c++20 -O2 -Wall -Wextra -Wpedantic -Wconversion -Wshadow -pthread
//        bench/epoll_echo.cpp -o build/bench/epoll_echo   (bench/echo_bench.sh does this)

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string_view>
#include <thread>
#include <vector>

namespace {

// 64 KiB: a 64-byte echo never needs more, and bulk transfers take a whole socket-buffer's worth
// per syscall. It is also the bound on per-connection memory (the unsent remainder).
constexpr std::size_t read_buffer_size = 64 * 1024;
// 256 events per epoll_wait: enough to amortise the call at 1000+ busy connections per worker.
constexpr int max_events = 256;
// Listen backlog: the kernel caps it at net.core.somaxconn anyway.
constexpr int listen_backlog = 4096;

[[noreturn]] void die(const char* what) {
    std::fprintf(stderr, "epoll_echo: %s: %s\n", what, std::strerror(errno));
    std::exit(1);
}

/// One accepted connection. Lives on the heap; epoll's data.ptr points at it.
struct connection {
    explicit connection(int socket) : fd(socket) {}
    int fd;
    std::unique_ptr<char[]> pending;  ///< unsent remainder of the last echo, null when drained
    std::size_t pending_begin = 0;
    std::size_t pending_end = 0;
};

/// Tags that tell a listener's or the stop eventfd's events from a connection's.
char listener_tag;
char stop_tag;

void close_connection(connection* conn) {
    // close() also removes the fd from the epoll set (no dup of it exists).
    ::close(conn->fd);
    delete conn;
}

/// Writes the pending remainder. Returns false when the connection is over.
bool flush_pending(connection* conn) {
    while (conn->pending_begin < conn->pending_end) {
        const ssize_t n = ::send(conn->fd, conn->pending.get() + conn->pending_begin,
                                 conn->pending_end - conn->pending_begin, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno == EAGAIN;  // still blocked: wait for the next EPOLLOUT edge
        }
        conn->pending_begin += static_cast<std::size_t>(n);
    }
    conn->pending.reset();
    conn->pending_begin = conn->pending_end = 0;
    return true;
}

/// Reads and echoes until the socket is drained or the peer stops reading. Returns false when the
/// connection is over (EOF, reset).
bool echo(connection* conn, char* buffer) {
    for (;;) {
        const ssize_t got = ::read(conn->fd, buffer, read_buffer_size);
        if (got == 0) return false;  // EOF: the peer sent everything it will send
        if (got < 0) {
            if (errno == EINTR) continue;
            return errno == EAGAIN;
        }
        const auto received = static_cast<std::size_t>(got);
        std::size_t sent = 0;
        while (sent < received) {
            const ssize_t n = ::send(conn->fd, buffer + sent, received - sent, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EINTR) continue;
                if (errno != EAGAIN) return false;  // reset / broken pipe
                break;
            }
            sent += static_cast<std::size_t>(n);
        }
        if (sent < received) {
            // The peer reads slower than it writes: keep the rest and read nothing more until the
            // EPOLLOUT edge lets it drain. Unread input stays in the kernel (TCP flow control).
            conn->pending.reset(new char[received - sent]);
            std::memcpy(conn->pending.get(), buffer + sent, received - sent);
            conn->pending_begin = 0;
            conn->pending_end = received - sent;
            return true;
        }
        // A short read on a stream socket means its receive queue was empty (man 7 epoll): new
        // data will raise a new edge, so skip the read that would only return EAGAIN. This halves
        // the read syscalls of a request/response echo.
        if (received < read_buffer_size) return true;
    }
}

void accept_all(int listener, int epfd) {
    for (;;) {
        const int fd = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            // EAGAIN: drained. EMFILE/ENFILE/ENOBUFS: leave the rest queued; the next
            // connection's edge retries (a reference server need not back off like pierd).
            return;
        }
        // Echo replies are tiny and immediate: never let Nagle hold one back for the peer's ACK.
        const int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        auto* conn = new connection(fd);
        // Registered once for both directions, edge-triggered: no epoll_ctl per request. EPOLLOUT
        // edges while nothing is pending are ignored.
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
        ev.data.ptr = conn;
        if (::epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) close_connection(conn);
    }
}

void run_worker(int listener, int stop_fd) {
    const int epfd = ::epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) die("epoll_create1");
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLET;
    ev.data.ptr = &listener_tag;
    if (::epoll_ctl(epfd, EPOLL_CTL_ADD, listener, &ev) != 0) die("epoll_ctl listener");
    // Level-triggered and never read: once main writes it, every worker sees it on every wait.
    ev.events = EPOLLIN;
    ev.data.ptr = &stop_tag;
    if (::epoll_ctl(epfd, EPOLL_CTL_ADD, stop_fd, &ev) != 0) die("epoll_ctl stop");

    std::vector<char> buffer(read_buffer_size);  // shared by this worker's connections
    epoll_event events[max_events];
    for (;;) {
        const int n = ::epoll_wait(epfd, events, max_events, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait");
        }
        for (int i = 0; i < n; ++i) {
            void* const tag = events[i].data.ptr;
            if (tag == &stop_tag) {
                // Connections are closed by process exit; the fds die with it.
                ::close(epfd);
                return;
            }
            if (tag == &listener_tag) {
                accept_all(listener, epfd);
                continue;
            }
            auto* conn = static_cast<connection*>(tag);
            const std::uint32_t what = events[i].events;
            bool alive = (what & EPOLLERR) == 0;
            // Drain first; only a connection with nothing pending may read (bounded memory).
            if (alive && conn->pending) alive = flush_pending(conn);
            // EPOLLIN may have fired while we were blocked on output: its edge is gone, so read
            // now that the remainder drained. An extra read that returns EAGAIN is harmless.
            if (alive && !conn->pending) alive = echo(conn, buffer.data());
            if (!alive) close_connection(conn);
        }
    }
}

int open_listener(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket");
    const int one = 1;
    // SO_REUSEPORT before bind on every socket, or the later binds to the same port fail.
    if (::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) die("SO_REUSEPORT");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) die("bind");
    if (::listen(fd, listen_backlog) != 0) die("listen");
    return fd;
}

std::uint16_t bound_port(int fd) {
    sockaddr_in addr{};
    socklen_t len = sizeof addr;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) die("getsockname");
    return ntohs(addr.sin_port);
}

unsigned long parse_number(const char* text, unsigned long max, const char* flag) {
    char* end = nullptr;
    errno = 0;
    const unsigned long value = std::strtoul(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value > max) {
        std::fprintf(stderr, "epoll_echo: bad %s: %s\n", flag, text);
        std::exit(2);
    }
    return value;
}

}  // namespace

int main(int argc, char** argv) {
    unsigned long port = 0;
    unsigned long threads = std::thread::hardware_concurrency();
    if (threads == 0) threads = 1;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if ((arg == "--port" || arg == "--threads") && i + 1 < argc) {
            if (arg == "--port") {
                port = parse_number(argv[++i], 65535, "--port");
            } else {
                threads = parse_number(argv[++i], 1024, "--threads");
            }
        } else {
            std::fprintf(stderr, "usage: epoll_echo [--port N] [--threads N]\n");
            return 2;
        }
    }
    if (threads == 0) threads = 1;

    // 1000s of connections need descriptors: raise the soft limit to the hard one, as pierd does.
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);
    }

    // Block the stop signals before any thread exists, so every thread inherits the mask and
    // they are delivered only through the signalfd below.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    if (::pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr) != 0) die("pthread_sigmask");
    const int signal_fd = ::signalfd(-1, &stop_signals, SFD_CLOEXEC);
    if (signal_fd < 0) die("signalfd");
    const int stop_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (stop_fd < 0) die("eventfd");

    // Port 0 with SO_REUSEPORT: let the kernel pick for the first socket, then bind the others
    // to that port explicitly (a second port-0 bind would get a different port).
    std::vector<int> listeners;
    listeners.push_back(open_listener(static_cast<std::uint16_t>(port)));
    const std::uint16_t actual = bound_port(listeners.front());
    while (listeners.size() < threads) listeners.push_back(open_listener(actual));
    std::printf("listening port=%u\n", static_cast<unsigned>(actual));
    std::fflush(stdout);

    std::vector<std::thread> workers;
    for (const int fd : listeners) workers.emplace_back(run_worker, fd, stop_fd);

    signalfd_siginfo info{};
    while (::read(signal_fd, &info, sizeof info) < 0 && errno == EINTR) {
    }
    // Bounded: workers never block except in epoll_wait, which the eventfd ends.
    const std::uint64_t wake = 1;
    if (::write(stop_fd, &wake, sizeof wake) != static_cast<ssize_t>(sizeof wake)) die("eventfd");
    for (auto& worker : workers) worker.join();
    return 0;
}
