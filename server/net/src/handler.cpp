#include "pier/net/handler.hpp"

#include <boost/asio/co_spawn.hpp>

#include "pier/net/listener.hpp"

namespace pier::net {

void serve_done::operator()(std::exception_ptr error) const {
    owner_->finish_connection(*conn_, error);
}

void spawn_serve(serve_done done, boost::asio::awaitable<void> body) {
    const auto executor = done.conn().executor();
    boost::asio::co_spawn(executor, std::move(body),
                          [done = std::move(done)](std::exception_ptr error) { done(error); });
}

}  // namespace pier::net
