#include "pier/handlers/proxy/upstream_group.hpp"

#include <algorithm>
#include <random>

namespace pier::handlers::proxy {
namespace {

/// a carries less load per unit of weight than b.
bool less_loaded(std::uint64_t a_active, unsigned a_weight, std::uint64_t b_active,
                 unsigned b_weight) {
    return a_active * b_weight < b_active * a_weight;
}

std::minstd_rand& random_engine() {
    thread_local std::minstd_rand engine{std::random_device{}()};
    return engine;
}

}  // namespace

upstream_group::upstream_group(const config::proxy_config& cfg, const upstream_group* previous)
    : settings_(cfg),
      counters_(previous != nullptr ? previous->counters_ : std::make_shared<client_counters>()) {
    for (const auto& u : cfg.upstreams) {
        std::shared_ptr<upstream> target;
        if (previous != nullptr) {
            for (const auto& m : previous->members_) {
                if (m.target->address() == u.address) target = m.target;
            }
        }
        if (!target) target = std::make_shared<upstream>(u.address);
        members_.push_back(member{std::move(target), u.weight, 0});
    }
}

std::shared_ptr<upstream> upstream_group::pick(clock::time_point now,
                                               const std::vector<const upstream*>& tried) {
    std::lock_guard lock(mutex_);
    candidates eligible;
    eligible.reserve(members_.size());
    for (auto& m : members_) {
        const bool was_tried = std::find(tried.begin(), tried.end(), m.target.get()) != tried.end();
        if (!was_tried && m.target->available(now)) eligible.push_back(&m);
    }
    if (eligible.empty()) return nullptr;
    member* chosen = nullptr;
    switch (settings_.balance) {
        case config::balance_policy::round_robin: chosen = pick_round_robin(eligible); break;
        case config::balance_policy::least_connections:
            chosen = pick_least_connections(eligible);
            break;
        case config::balance_policy::random_two: chosen = pick_random_two(eligible); break;
    }
    return chosen->target;
}

upstream_group::member* upstream_group::pick_round_robin(const candidates& eligible) {
    // nginx's smooth weighted round robin: weights 5,1,1 give a a b a c a a, not a a a a a b c.
    std::int64_t total = 0;
    member* best = nullptr;
    for (auto* m : eligible) {
        m->current += m->weight;
        total += m->weight;
        if (best == nullptr || m->current > best->current) best = m;
    }
    best->current -= total;
    return best;
}

upstream_group::member* upstream_group::pick_least_connections(const candidates& eligible) {
    // Start where the last pick left off, so upstreams tied on load take turns.
    member* best = nullptr;
    const std::size_t start = rotation_++ % eligible.size();
    for (std::size_t i = 0; i < eligible.size(); ++i) {
        auto* m = eligible[(start + i) % eligible.size()];
        if (best == nullptr ||
            less_loaded(m->target->active(), m->weight, best->target->active(), best->weight)) {
            best = m;
        }
    }
    return best;
}

upstream_group::member* upstream_group::pick_random_two(const candidates& eligible) {
    // Power of two choices (Mitzenmacher): two at random, the less loaded wins. Nearly as even
    // as least_connections, without every proxy herding onto the same idle upstream.
    if (eligible.size() == 1) return eligible.front();
    auto& engine = random_engine();
    const std::size_t a =
        std::uniform_int_distribution<std::size_t>(0, eligible.size() - 1)(engine);
    // Uniform over the others: skip `a` rather than map it to a neighbour.
    std::size_t b = std::uniform_int_distribution<std::size_t>(0, eligible.size() - 2)(engine);
    if (b >= a) ++b;
    auto* first = eligible[a];
    auto* second = eligible[b];
    return less_loaded(second->target->active(), second->weight, first->target->active(),
                       first->weight)
               ? second
               : first;
}

void upstream_group::start_health_checks(const boost::asio::any_io_executor& strand) {
    if (!settings_.health_check) {
        for (auto& m : members_) m.target->forget_checks();
        return;
    }
    std::vector<std::shared_ptr<upstream>> targets;
    targets.reserve(members_.size());
    for (const auto& m : members_) targets.push_back(m.target);
    checker_ = health_checker::start(strand, *settings_.health_check, std::move(targets));
}

void upstream_group::stop_health_checks() {
    if (checker_) checker_->stop();
    checker_.reset();
}

std::vector<upstream_snapshot> upstream_group::snapshot(clock::time_point now) const {
    std::vector<upstream_snapshot> out;
    out.reserve(members_.size());
    for (const auto& m : members_) out.push_back(m.target->snapshot(now));
    return out;
}

}  // namespace pier::handlers::proxy
