#include "pierload/runner.hpp"

#include <boost/asio/io_context.hpp>
#include <thread>

#include "client_thread.hpp"
#include "pier/runtime/open_file_limit.hpp"

namespace pierload {
namespace {

using detail::client_thread;
using detail::run_context;
using detail::session_counter;
using detail::steady;
using detail::tcp;
namespace asio = boost::asio;

tcp::endpoint resolve(const options& opts) {
    asio::io_context io;
    tcp::resolver resolver(io);
    boost::system::error_code ec;
    const auto results = resolver.resolve(opts.host, opts.port, ec);
    if (ec || results.empty()) {
        throw setup_error("cannot resolve " + opts.host + ":" + opts.port + ": " +
                          (ec ? ec.message() : "no address"));
    }
    return results.begin()->endpoint();
}

std::string format_endpoint(const tcp::endpoint& endpoint) {
    const auto address = endpoint.address().to_string();
    const auto port = std::to_string(endpoint.port());
    return endpoint.address().is_v6() ? "[" + address + "]:" + port : address + ":" + port;
}

second_sample summarize(const interval_stats& interval, double elapsed_s, double length_s,
                        bool warmup, std::size_t open_connections) {
    second_sample sample;
    sample.elapsed_s = elapsed_s;
    sample.interval_s = length_s;
    sample.warmup = warmup;
    sample.open_connections = open_connections;
    sample.requests = interval.requests;
    sample.bytes_sent = interval.bytes_sent;
    sample.bytes_received = interval.bytes_received;
    sample.connects = interval.connects;
    sample.errors = interval.errors.total();
    sample.p50_ns = interval.latency.value_at_percentile(50);
    sample.p99_ns = interval.latency.value_at_percentile(99);
    return sample;
}

}  // namespace

void ensure_descriptor_limit(std::size_t needed) {
    // The same raise pierd does at start: soft limit up to the hard one.
    const auto limit = pier::runtime::raise_open_file_limit();
    if (limit >= needed) return;
    throw setup_error("cannot open " + std::to_string(needed) +
                      " descriptors: the open-file limit is " + std::to_string(limit) +
                      " (hard); raise it (ulimit -Hn, LimitNOFILE=) or use fewer connections");
}

run_result run_load(const options& opts,
                    const std::function<void(const second_sample&)>& on_second) {
    run_result result;
    result.used = opts;
    const unsigned hardware = std::max(1u, std::thread::hardware_concurrency());
    const unsigned threads = static_cast<unsigned>(
        std::min<std::size_t>(opts.threads > 0 ? opts.threads : hardware, opts.connections));
    result.threads = threads;

    // Each connection needs one descriptor; each thread a few for its reactor; plus stdio and
    // output files.
    ensure_descriptor_limit(opts.connections + 4 * threads + 32);

    run_context run(opts, resolve(opts));
    result.target = format_endpoint(run.target);
    for (const auto& ip : opts.source_ips) run.sources.push_back(asio::ip::make_address(ip));
    if (opts.requests) run.budget = static_cast<std::int64_t>(*opts.requests);

    session_counter counter;
    std::vector<std::unique_ptr<client_thread>> clients;
    const bool use_epoll = detail::epoll_client_supports(opts);
    std::size_t next_slot = 0;
    for (unsigned t = 0; t < threads; ++t) {
        const std::size_t share = opts.connections / threads + (t < opts.connections % threads);
        clients.push_back(use_epoll
                              ? detail::make_epoll_client_thread(run, counter, next_slot, share)
                              : detail::make_asio_client_thread(run, counter, next_slot, share));
        next_slot += share;
    }
    run.start = steady::now();
    for (auto& client : clients) client->start();

    const auto measure_from = run.start + opts.warmup;
    const bool time_limited = !opts.requests || opts.duration_given;
    const auto end = time_limited ? measure_from + opts.duration : steady::time_point::max();
    std::uint64_t errors_so_far = 0;
    auto interval_start = run.start;
    bool finished = false;
    while (!finished) {
        const auto next = std::min(interval_start + std::chrono::seconds(1), end);
        finished = counter.wait_until(next);
        const auto now = finished ? steady::now() : next;
        finished = finished || now >= end;
        // Read before stopping, which closes every connection.
        const auto open_connections = run.open_connections.load(std::memory_order_relaxed);
        if (finished) {
            run.stopping = true;
            for (auto& client : clients) client->stop();
        }
        interval_stats interval;
        for (auto& client : clients) {
            interval.merge(finished ? client->join() : client->take_interval());
        }
        const bool warmup = interval_start < measure_from;
        const std::chrono::duration<double> elapsed = now - run.start;
        const std::chrono::duration<double> length = now - interval_start;
        const auto sample =
            summarize(interval, elapsed.count(), length.count(), warmup, open_connections);
        errors_so_far += sample.errors;
        result.series.push_back(sample);
        if (!warmup) {
            result.total.merge(interval);
            result.measured += now - interval_start;
        }
        if (on_second) on_second(sample);
        interval_start = now;
        if (!finished && !time_limited && errors_so_far > opts.max_errors) {
            // A count-bounded run that has already failed: stop rather than retry forever.
            run.stopping = true;
            for (auto& client : clients) client->stop();
            for (auto& client : clients) result.total.merge(client->join());
            finished = true;
        }
    }
    result.peak_connections = run.peak_connections.load();
    return result;
}

}  // namespace pierload
