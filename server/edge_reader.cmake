# Which of edge_reader's two paths pier_net builds (net/include/pier/net/edge_reader.hpp), in
# PIER_EDGE_READER: reactor or portable.
#
# The reactor path is built on Asio's internals (asio::detail: reactor_op's perform/complete
# protocol and statuses, epoll_reactor::start_op with 6 arguments, post_immediate_completion,
# cancel_ops_by_key, the socket implementation's socket_/state_/reactor_data_, handler_work,
# binder2), so `auto` builds it only with a Boost whose internals it was checked against; any
# other version builds the portable path on Asio's public operations. CI runs the suite on
# both (the portable preset).
#
# Checked: those headers read against 1.81's, and the whole suite passed on the reactor path:
#   1.81: Debian 12 (libboost1.81-dev)
#   1.83: Debian 13, Ubuntu 24.04 (libboost-dev)
#   1.88: Debian 13 (libboost1.88-dev): the reactor gained run-time configuration and
#         do_start_op a needs_non_blocking flag (the same logic for reads); handler_work,
#         binder2 and the handler allocation helpers were rewritten with the same interface
# To check another version: build it with -DPIER_EDGE_READER=reactor (on Debian 13,
# `PIER_BOOST=1.88 scripts/setup.sh` installs that Boost's packages), run the suite, read the
# diff of those headers against a checked version, then add it here.
set(PIER_EDGE_READER_CHECKED_BOOST 1.81 1.83 1.88)

set(PIER_EDGE_READER_CHOICE auto CACHE STRING
    "edge_reader's path: auto (reactor on a checked Boost, else portable), portable, reactor")
set_property(CACHE PIER_EDGE_READER_CHOICE PROPERTY STRINGS auto portable reactor)

set(boost_minor "${Boost_VERSION_MAJOR}.${Boost_VERSION_MINOR}")
if(PIER_EDGE_READER_CHOICE STREQUAL "portable")
    set(PIER_EDGE_READER portable)
    set(why "PIER_EDGE_READER_CHOICE=portable")
elseif(NOT CMAKE_SYSTEM_NAME STREQUAL "Linux")
    set(PIER_EDGE_READER portable)
    set(why "the reactor path needs epoll")
elseif(PIER_EDGE_READER_CHOICE STREQUAL "reactor")
    set(PIER_EDGE_READER reactor)
    set(why "PIER_EDGE_READER_CHOICE=reactor, Boost ${boost_minor}")
elseif(NOT PIER_EDGE_READER_CHOICE STREQUAL "auto")
    message(FATAL_ERROR "PIER_EDGE_READER_CHOICE is '${PIER_EDGE_READER_CHOICE}': "
                        "auto, portable or reactor")
elseif(boost_minor IN_LIST PIER_EDGE_READER_CHECKED_BOOST)
    set(PIER_EDGE_READER reactor)
    set(why "Boost ${boost_minor}, checked")
else()
    set(PIER_EDGE_READER portable)
    set(why "Boost ${boost_minor} is not one the reactor path was checked against: "
            "${PIER_EDGE_READER_CHECKED_BOOST}")
endif()
message(STATUS "pier: edge_reader: ${PIER_EDGE_READER} path (${why})")
