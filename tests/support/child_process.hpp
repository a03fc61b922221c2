// Runs a program (the real pierd) as a child with its stdout and stderr captured, for process
// tests. Every wait is bounded by a deadline; the destructor kills a child still running.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <sys/types.h>

namespace pier::test {

/// A listening socket handed to the child as systemd's socket activation does: as fd 3, with
/// LISTEN_FDS=1, LISTEN_FDNAMES=name and LISTEN_PID set to the child's pid.
struct socket_activation {
    int fd = -1;
    std::string name;
};

/// pierd's arguments to serve `config`, with --allow-root: the suite runs as root in CI, where
/// pierd refuses to serve without it (as any other user the flag changes nothing).
std::vector<std::string> pierd_serve_args(const std::filesystem::path& config);

class child_process {
public:
    /// Starts `program` with `args` (not including argv[0]); stdout and stderr are both captured.
    /// `open_file_limit`: the child's RLIMIT_NOFILE, soft and hard.
    child_process(const std::string& program, const std::vector<std::string>& args,
                  const std::optional<socket_activation>& activation = std::nullopt,
                  std::optional<rlim_t> open_file_limit = std::nullopt);
    ~child_process();
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;

    /// Reads output until a line containing `needle` arrives; returns that line, or nullopt on
    /// EOF or when `timeout` passes.
    std::optional<std::string> wait_for_line(const std::string& needle,
                                             std::chrono::milliseconds timeout);

    void send_signal(int signal_number);

    pid_t pid() const { return pid_; }

    /// Reads output to EOF and reaps the child; returns its exit code, or nullopt if it did not
    /// exit within `timeout` (or died from a signal).
    std::optional<int> wait_exit(std::chrono::milliseconds timeout);

    /// Everything the child wrote so far.
    const std::string& output() const { return output_; }

private:
    /// Reads what is available, waiting at most until `deadline`; false on EOF or timeout.
    bool read_some(std::chrono::steady_clock::time_point deadline);

    pid_t pid_ = -1;
    int output_fd_ = -1;
    std::string output_;
    std::size_t scanned_ = 0;  ///< output_ before this offset holds no unreported line
    bool reaped_ = false;
};

/// The path of an installed program (/usr/bin, /usr/local/bin, /usr/sbin), or "" if absent.
std::string find_program(const std::string& name);

/// A fresh directory under the system temp dir, removed with its contents on destruction.
class temp_dir {
public:
    temp_dir();
    ~temp_dir();
    const std::filesystem::path& path() const { return path_; }
    /// Writes `contents` to `name` inside the directory and returns the full path.
    std::filesystem::path write(const std::string& name, const std::string& contents) const;

private:
    std::filesystem::path path_;
};

}  // namespace pier::test
