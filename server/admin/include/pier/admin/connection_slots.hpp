// The admin endpoint's connection slots: at most `capacity` connections at once, and a new one
// is never turned away for lack of room. When every slot is taken, the connection that has gone
// longest without progress (no request read, no response written: an idle keep-alive
// connection, a client that sent half a head, or one that stopped reading its answer) is closed
// to make room. nginx and HAProxy reclaim idle keep-alive connections the same way under
// pressure. So a health probe always gets through, however many connections hold the endpoint:
// it sends its request at once, and a connection whose bytes wait unread is passed over (a
// flood of connections that send nothing, accepted faster than the probe's request is read,
// would otherwise push the probe out before it is answered).
//
// Threads: the admin thread only.
#pragma once

#include <cstddef>
#include <functional>
#include <list>

namespace pier::admin {

class connection_slots {
public:
    explicit connection_slots(std::size_t capacity) : capacity_(capacity) {}

    /// One connection's slot, held from accept to close. Not movable: the slots keep its address.
    class slot {
    public:
        /// Takes a slot (make_room() has made one). `close` closes the connection's socket; it
        /// is called at most once, when the slot is reclaimed for a newer connection.
        /// `has_unread_input` says whether the peer has sent bytes not read yet.
        slot(connection_slots& slots, std::function<void()> close,
             std::function<bool()> has_unread_input);
        ~slot();
        slot(const slot&) = delete;
        slot& operator=(const slot&) = delete;

        /// The connection made progress (read a request, wrote a response): it goes to the
        /// back of the order in which slots are reclaimed.
        void touch();
        /// Whether make_room() closed this connection.
        bool reclaimed() const { return !held_; }

    private:
        friend class connection_slots;  // make_room() reclaims a slot
        connection_slots& slots_;
        std::function<void()> close_;
        std::function<bool()> has_unread_input_;
        std::list<slot*>::iterator at_;
        bool held_ = true;
    };

    /// Makes sure a new connection has a slot, closing the connection that has gone longest
    /// without progress and has no unread input when all are taken (the one longest without
    /// progress if every one has input waiting). Returns how many it closed (0 or 1).
    std::size_t make_room();

    /// Connections holding a slot.
    std::size_t size() const { return order_.size(); }

private:
    std::size_t capacity_;
    std::list<slot*> order_;  ///< front: longest without progress
};

}  // namespace pier::admin
