// Asio's separately compiled sources (BOOST_ASIO_SEPARATE_COMPILATION): built once here so the
// other translation units only instantiate templates.
#include <boost/asio/impl/src.hpp>
