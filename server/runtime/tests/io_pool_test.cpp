// The worker pool's placement: a new connection goes to the worker with the fewest live
// connections, and a lease gives its slot back when it ends. No threads are started.
#include <doctest/doctest.h>
#include <vector>

#include "pier/runtime/io_pool.hpp"

namespace pier::runtime {
namespace {

// Proves leases spread evenly and that a released slot is the next one filled.
TEST_CASE("io_pool: acquire picks the worker with the fewest live connections") {
    io_pool pool(3);
    std::vector<worker_lease> leases;
    for (int i = 0; i < 6; ++i) leases.push_back(pool.acquire());
    for (std::size_t w = 0; w < 3; ++w) CHECK(pool.live_connections(w) == 2);

    // Free one slot on whichever worker the second lease landed on: it is chosen next.
    const auto freed_worker = leases[1].worker_index();
    leases[1] = worker_lease();
    CHECK(pool.live_connections(freed_worker) == 1);
    const auto next = pool.acquire();
    CHECK(next.worker_index() == freed_worker);
    CHECK(pool.live_connections(freed_worker) == 2);
}

// Proves uncounted leases (accept loops) do not skew placement, and moved leases count once.
TEST_CASE("io_pool: uncounted and moved leases") {
    io_pool pool(2);
    const auto home = pool.acquire_uncounted(0);
    CHECK(home.worker_index() == 0);
    CHECK(pool.live_connections(0) == 0);

    auto lease = pool.acquire();
    const auto w = lease.worker_index();
    worker_lease moved = std::move(lease);
    CHECK(pool.live_connections(w) == 1);
    moved = worker_lease();
    CHECK(pool.live_connections(w) == 0);
}

}  // namespace
}  // namespace pier::runtime
