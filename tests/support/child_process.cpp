#include "support/child_process.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string_view>
#include <system_error>

#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace pier::test {

std::vector<std::string> pierd_serve_args(const std::filesystem::path& config) {
    return {"--allow-root", "--config", config.string()};
}

child_process::child_process(const std::string& program, const std::vector<std::string>& args,
                             const std::optional<socket_activation>& activation,
                             std::optional<rlim_t> open_file_limit) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(program.c_str()));
    for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);

    // The environment, prepared before fork: the child may only make async-signal-safe calls.
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
        if (std::string_view(*e).substr(0, 7) != "LISTEN_") env.emplace_back(*e);
    }
    if (activation) {
        env.push_back("LISTEN_FDS=1");
        env.push_back("LISTEN_FDNAMES=" + activation->name);
        env.push_back("LISTEN_PID=" + std::string(20, '\0'));  // the pid, written in the child
    }
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    char* pid_digits = activation ? env.back().data() + 11 : nullptr;

    pid_ = fork();
    if (pid_ < 0) throw std::system_error(errno, std::generic_category(), "fork");
    if (pid_ == 0) {
        // Child: only async-signal-safe calls until exec.
        dup2(fds[1], STDOUT_FILENO);
        dup2(fds[1], STDERR_FILENO);
        if (activation) {
            if (activation->fd == 3) {
                fcntl(3, F_SETFD, 0);
            } else {
                dup2(activation->fd, 3);  // clears close-on-exec
            }
            char reversed[20];
            int n = 0;
            for (long pid = getpid(); pid > 0; pid /= 10) reversed[n++] = char('0' + pid % 10);
            for (int i = 0; i < n; ++i) pid_digits[i] = reversed[n - 1 - i];
        }
        if (open_file_limit) {
            const rlimit limit{*open_file_limit, *open_file_limit};  // hard too: none to raise
            if (setrlimit(RLIMIT_NOFILE, &limit) != 0) _exit(126);
        }
        execve(program.c_str(), argv.data(), envp.data());
        _exit(127);
    }
    close(fds[1]);
    output_fd_ = fds[0];
}

child_process::~child_process() {
    if (!reaped_ && pid_ > 0) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
    }
    if (output_fd_ >= 0) close(output_fd_);
}

bool child_process::read_some(std::chrono::steady_clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd pfd{output_fd_, POLLIN, 0};
    const int ready = poll(&pfd, 1, static_cast<int>(left.count()));
    if (ready <= 0) return false;
    char chunk[4096];
    const ssize_t n = read(output_fd_, chunk, sizeof chunk);
    if (n <= 0) return false;
    output_.append(chunk, static_cast<std::size_t>(n));
    return true;
}

std::optional<std::string> child_process::wait_for_line(const std::string& needle,
                                                        std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        // Report complete lines only, each at most once.
        for (auto end = output_.find('\n', scanned_); end != std::string::npos;
             end = output_.find('\n', scanned_)) {
            std::string line = output_.substr(scanned_, end - scanned_);
            scanned_ = end + 1;
            if (line.find(needle) != std::string::npos) return line;
        }
        if (!read_some(deadline)) return std::nullopt;
    }
}

void child_process::send_signal(int signal_number) { kill(pid_, signal_number); }

std::optional<int> child_process::wait_exit(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    // The pipe reaches EOF when the child exits (it has no children of its own).
    while (read_some(deadline)) {
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    int status = 0;
    if (waitpid(pid_, &status, 0) != pid_) return std::nullopt;
    reaped_ = true;
    if (!WIFEXITED(status)) return std::nullopt;
    return WEXITSTATUS(status);
}

temp_dir::temp_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "pier-test-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
        throw std::system_error(errno, std::generic_category(), "mkdtemp");
    }
    path_ = pattern;
}

temp_dir::~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

std::filesystem::path temp_dir::write(const std::string& name, const std::string& contents) const {
    const auto file = path_ / name;
    std::ofstream(file) << contents;
    return file;
}

std::string find_program(const std::string& name) {
    for (const char* dir : {"/usr/bin", "/usr/local/bin", "/usr/sbin"}) {
        const auto path = std::filesystem::path(dir) / name;
        if (std::filesystem::exists(path)) return path.string();
    }
    return {};
}

}  // namespace pier::test
