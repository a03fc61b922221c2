// A descriptor held in reserve so that the admin endpoint can answer a health probe when the
// process has no descriptor left: under a connection flood the workers' connections can take
// every one up to RLIMIT_NOFILE, and a probe that cannot be accepted would have an orchestrator
// restart a daemon that is serving. nginx and HAProxy keep descriptors back for their own needs
// in the same way.
//
// Two descriptors on /dev/null: `source_`, always held, and the reserve itself. When an accept
// fails for want of descriptors, release() closes the reserve so that one accept can take its
// number; when that connection ends, take_back() dup2()s /dev/null onto the connection's number,
// so the number is never free for a worker to take in between (closing it and opening again
// would race the workers' accepts).
//
// Threads: the admin thread only.
#pragma once

namespace pier::admin {

class reserve_descriptor {
public:
    /// Opens the reserve; without descriptors to spare it starts empty (refill() tries again).
    reserve_descriptor();
    ~reserve_descriptor();
    reserve_descriptor(const reserve_descriptor&) = delete;
    reserve_descriptor& operator=(const reserve_descriptor&) = delete;

    /// Closes the reserve so that the next accept can use its number; false if none is held.
    bool release();
    /// Makes `fd` (a descriptor the caller owns and gives up, the connection accepted on the
    /// reserve) the new reserve, keeping its number. Closes `fd` if a reserve is already held.
    void take_back(int fd);
    /// Opens a reserve if none is held and a descriptor is free.
    void refill();

    bool held() const { return reserve_ >= 0; }

private:
    int source_ = -1;   ///< /dev/null, the file every reserve refers to
    int reserve_ = -1;  ///< -1 while released
};

}  // namespace pier::admin
