#include "pier/admin/connection_slots.hpp"

#include <utility>

namespace pier::admin {

connection_slots::slot::slot(connection_slots& slots, std::function<void()> close,
                             std::function<bool()> has_unread_input)
    : slots_(slots), close_(std::move(close)), has_unread_input_(std::move(has_unread_input)) {
    at_ = slots_.order_.insert(slots_.order_.end(), this);
}

connection_slots::slot::~slot() {
    if (held_) slots_.order_.erase(at_);
}

void connection_slots::slot::touch() {
    if (!held_) return;
    slots_.order_.splice(slots_.order_.end(), slots_.order_, at_);
}

std::size_t connection_slots::make_room() {
    // `capacity_` is at least 1 (config), so a slot is always freed when all are taken.
    if (order_.size() < capacity_ || order_.empty()) return 0;
    auto victim = order_.begin();
    for (auto it = order_.begin(); it != order_.end(); ++it) {
        if (!(*it)->has_unread_input_()) {
            victim = it;
            break;
        }
    }
    slot* reclaimed = *victim;
    order_.erase(victim);
    reclaimed->held_ = false;
    // Its coroutine sees the closed socket and ends; the slot is free from now on.
    reclaimed->close_();
    return 1;
}

}  // namespace pier::admin
