// Reading and validating pier's YAML configuration; see parse.hpp.
//
// The validator walks the YAML tree once and records every problem instead of stopping at the
// first, so an operator fixes a file in one round. A reader that finds a bad value reports it and
// leaves the default in place, so later checks still run on a complete struct. yaml-cpp's own
// conversions (`as<T>`) are lax (they accept "0x10", "1e3", "-1" for unsigned), so scalars are
// read as text and parsed here.
#include "pier/config/parse.hpp"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <limits>
#include <optional>
#include <sstream>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

#include "pier/config/config_file.hpp"
#include "pier/config/units.hpp"

namespace pier::config {

std::string config_error::to_string() const {
    std::string out = source;
    if (line > 0) {
        out += ':' + std::to_string(line) + ':' + std::to_string(column);
    }
    if (!out.empty()) {
        out += ": ";
    }
    if (!key_path.empty()) {
        out += key_path + ": ";
    }
    out += what;
    if (!got.empty()) {
        out += " (got " + got + ")";
    }
    return out;
}

std::vector<std::string> report_lines(const std::vector<config_error>& errors, std::size_t limit) {
    std::vector<std::string> lines;
    const std::size_t shown = std::min(limit, errors.size());
    lines.reserve(shown + 1);
    for (std::size_t i = 0; i < shown; ++i) lines.push_back(errors[i].to_string());
    if (const std::size_t rest = errors.size() - shown; rest > 0) {
        lines.push_back("... and " + std::to_string(rest) +
                        (rest == 1 ? " more error" : " more errors") + ", not shown");
    }
    return lines;
}

namespace {

// ---------------------------------------------------------------------------------------------
// Suggestions for misspelt keys and values.

char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

/// Levenshtein distance, ignoring ASCII case so that "INFO" suggests "info".
std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> previous(b.size() + 1);
    std::vector<std::size_t> current(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) {
        previous[j] = j;
    }
    for (std::size_t i = 1; i <= a.size(); ++i) {
        current[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t substitution =
                previous[j - 1] + (to_lower(a[i - 1]) == to_lower(b[j - 1]) ? 0 : 1);
            current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitution});
        }
        std::swap(previous, current);
    }
    return previous[b.size()];
}

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
    return prefix.size() <= text.size() &&
           std::equal(prefix.begin(), prefix.end(), text.begin(),
                      [](char a, char b) { return to_lower(a) == to_lower(b); });
}

/// The candidate closest to `word`, if close enough to be a likely typo: at most 2 edits, or a
/// third of the word for long keys ("maxconection"), but never more than half of the candidate
/// (so "foo" does not suggest "log"). A word that extends or shortens a candidate ("warning",
/// "listen_address", "err") also counts, as the farthest match.
std::optional<std::string_view> closest(std::string_view word,
                                        const std::vector<std::string_view>& candidates) {
    // 3: shorter prefixes ("l", "ec") relate to too many words to mean anything.
    constexpr std::size_t min_prefix = 3;
    const std::size_t limit = std::max<std::size_t>(2, word.size() / 3);
    std::optional<std::string_view> best;
    std::size_t best_distance = std::numeric_limits<std::size_t>::max();
    for (const std::string_view candidate : candidates) {
        std::size_t distance = edit_distance(word, candidate);
        const bool typo = distance <= limit && 2 * distance <= candidate.size();
        const bool prefix = std::min(word.size(), candidate.size()) >= min_prefix &&
                            (starts_with_ignoring_case(word, candidate) ||
                             starts_with_ignoring_case(candidate, word));
        if (!typo && !prefix) {
            continue;
        }
        if (!typo) {
            distance = std::numeric_limits<std::size_t>::max() - 1;
        }
        if (distance < best_distance) {
            best = candidate;
            best_distance = distance;
        }
    }
    return best;
}

std::string join(const std::vector<std::string_view>& words) {
    std::string out;
    for (const std::string_view word : words) {
        if (!out.empty()) {
            out += ", ";
        }
        out += word;
    }
    return out;
}

/// "unknown <noun>, did you mean "x"?" or "unknown <noun> (expected one of: a, b)".
std::string unknown_message(std::string_view noun, std::string_view word,
                            const std::vector<std::string_view>& candidates) {
    if (const auto suggestion = closest(word, candidates)) {
        return "unknown " + std::string(noun) + ", did you mean \"" + std::string(*suggestion) +
               "\"?";
    }
    return "unknown " + std::string(noun) + " (expected one of: " + join(candidates) + ")";
}

// ---------------------------------------------------------------------------------------------
// Scalars.

/// A value as a message shows it: whole if short, else its start and its length (a message is
/// one line, whatever the file holds).
std::string shortened(const std::string& scalar) {
    constexpr std::size_t shown = 60;
    if (scalar.size() <= shown) return scalar;
    std::size_t cut = shown;  // not inside a UTF-8 sequence
    while (cut > 0 && (static_cast<unsigned char>(scalar[cut]) & 0xC0) == 0x80) --cut;
    return scalar.substr(0, cut) + "... (" + std::to_string(scalar.size()) + " bytes)";
}

/// The value as an operator wrote it, for the "(got ...)" part of a message.
std::string describe(const YAML::Node& node) {
    switch (node.Type()) {
        case YAML::NodeType::Map: return "a map";
        case YAML::NodeType::Sequence: return "a sequence";
        case YAML::NodeType::Scalar: return node.Scalar().empty() ? "\"\"" : node.Scalar();
        case YAML::NodeType::Null:
        case YAML::NodeType::Undefined: break;
    }
    return "an empty value";
}

enum class int_status { ok, not_integer, out_of_range };

struct int_result {
    int_status status = int_status::not_integer;
    std::uint64_t value = 0;
};

/// A plain decimal integer within [lo, hi]. A negative or too-long number is out of range
/// rather than "not an integer", because that is the message that helps.
int_result parse_uint(std::string_view text, std::uint64_t lo, std::uint64_t hi) {
    const bool negative = !text.empty() && text.front() == '-';
    const std::string_view digits = negative ? text.substr(1) : text;
    if (digits.empty() ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return {int_status::not_integer, 0};
    }
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec == std::errc::result_out_of_range || (negative && value != 0) || value < lo ||
        value > hi) {
        return {int_status::out_of_range, 0};
    }
    return {int_status::ok, value};
}

bool is_name_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

/// An IP literal as the kernel reads it: the family, the address's bytes and an IPv6 zone
/// ("%eth0") as written. inet_pton decides, as it does for Asio's make_address, which binds
/// the address later (net/listener.cpp), so what passes here binds there.
struct ip_literal {
    int family = AF_UNSPEC;
    std::array<unsigned char, 16> bytes{};
    std::string zone;

    bool operator==(const ip_literal&) const = default;

    /// The canonical text ("0::1" is "::1"), as inet_ntop writes it.
    std::string to_string() const {
        std::array<char, INET6_ADDRSTRLEN> text{};
        inet_ntop(family, bytes.data(), text.data(), static_cast<socklen_t>(text.size()));
        return zone.empty() ? std::string(text.data()) : std::string(text.data()) + "%" + zone;
    }
    /// 0.0.0.0 or ::
    bool is_unspecified() const {
        return std::all_of(bytes.begin(), bytes.end(), [](unsigned char b) { return b == 0; });
    }
    /// 224.0.0.0/4 or ff00::/8
    bool is_multicast() const {
        return family == AF_INET ? (bytes[0] & 0xF0) == 0xE0 : bytes[0] == 0xFF;
    }
};

std::optional<ip_literal> parse_ip_literal(const std::string& host) {
    ip_literal ip;
    if (inet_pton(AF_INET, host.c_str(), ip.bytes.data()) == 1) {
        ip.family = AF_INET;
        return ip;
    }
    const std::size_t percent = host.find('%');
    if (inet_pton(AF_INET6, host.substr(0, percent).c_str(), ip.bytes.data()) == 1) {
        ip.family = AF_INET6;
        if (percent != std::string::npos) ip.zone = host.substr(percent + 1);
        return ip;
    }
    return std::nullopt;
}

struct parsed_listen {
    listen_address address;
    ip_literal ip;  ///< for duplicate detection: "::1" and "0::1" are one address
};

/// "host:port" with an IP literal host (IPv6 in brackets), or why not.
std::variant<parsed_listen, std::string> parse_listen(std::string_view text) {
    const std::string expected = "expected \"host:port\", e.g. \"0.0.0.0:7000\"";
    std::string_view host;
    std::string_view port;
    const bool bracketed = !text.empty() && text.front() == '[';
    if (bracketed) {
        const std::size_t close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            return expected;
        }
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        const std::size_t colon = text.rfind(':');
        if (colon == std::string_view::npos) {
            return expected;
        }
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) {
            return std::string("IPv6 addresses need brackets, e.g. \"[::1]:7000\"");
        }
    }
    if (host.empty()) {
        return expected;
    }

    const auto ip = parse_ip_literal(std::string(host));
    if (!ip) {
        // Names are not resolved: resolution at start-up would make the bound address depend
        // on DNS, and a name with several addresses has no single socket to bind.
        return std::string("host must be an IP address, e.g. \"127.0.0.1\" or \"[::1]\"");
    }
    if (bracketed && ip->family != AF_INET6) {
        return std::string("brackets are only for IPv6 addresses");
    }
    const int_result port_number = parse_uint(port, 0, std::numeric_limits<std::uint16_t>::max());
    if (port_number.status != int_status::ok) {
        return std::string("port must be between 0 and 65535");
    }
    return parsed_listen{
        listen_address{std::string(host), static_cast<std::uint16_t>(port_number.value)}, *ip};
}

// ---------------------------------------------------------------------------------------------
// Maps.

/// One key of a YAML map whose name is known.
struct entry {
    std::string key;
    YAML::Node key_node;
    YAML::Node value;

    /// Where errors about the value point. An empty value's own mark is where the next token
    /// starts, often on the next line, so those errors point at the key instead.
    YAML::Mark mark() const { return value.IsNull() ? key_node.Mark() : value.Mark(); }
};

/// A YAML map whose keys have been checked: the known entries, in file order.
struct section {
    std::string path;  ///< "listeners[0].echo"; empty for the root
    YAML::Mark mark;   ///< where "missing required key" errors point
    std::vector<entry> entries;

    const entry* find(std::string_view key) const {
        for (const auto& e : entries) {
            if (e.key == key) {
                return &e;
            }
        }
        return nullptr;
    }

    std::string path_of(std::string_view key) const {
        return path.empty() ? std::string(key) : path + "." + std::string(key);
    }
};

const std::vector<std::string_view> root_keys{"runtime", "log",   "shutdown",
                                              "limits",  "admin", "listeners"};
const std::vector<std::string_view> runtime_keys{"threads", "scheduler", "busy_polling"};
const std::vector<std::string_view> log_keys{"level", "format"};
const std::vector<std::string_view> shutdown_keys{"drain_timeout"};
const std::vector<std::string_view> admin_keys{"listen", "max_connections", "timeout",
                                               "keepalive_timeout"};
const std::vector<std::string_view> limits_keys{"max_connections"};
const std::vector<std::string_view> echo_keys{"max_buffer"};
const std::vector<std::string_view> synthetic_keys{"cpu", "delay", "response_bytes", "max_line"};
const std::vector<std::string_view> proxy_keys{"upstreams",  "balance",      "connect_timeout",
                                               "retries",    "idle_timeout", "half_close_timeout",
                                               "max_buffer", "max_fails",    "fail_timeout",
                                               "send_proxy", "health_check"};
const std::vector<std::string_view> health_check_keys{"interval", "timeout", "rise",
                                                      "fall",     "send",    "expect"};
const std::vector<std::string_view> upstream_keys{"address", "weight"};
// Strict: YAML 1.1's yes/no/on/off are not booleans here (a typo would turn into one).
const std::vector<std::string_view> boolean_names{"false", "true"};

/// Listener keys: its own settings, then one section per handler.
std::vector<std::string_view> listener_keys() {
    std::vector<std::string_view> keys{"name",         "listen",          "backlog",
                                       "handler",      "max_connections", "max_connections_per_ip",
                                       "idle_timeout", "write_timeout",   "request_timeout",
                                       "accept_proxy"};
    for (const auto& handler : names_of(handler_kind{})) {
        keys.emplace_back(handler.name);
    }
    return keys;
}

/// The names of `Enum`'s values, in its table's order (config.hpp).
template <named_enum Enum>
std::vector<std::string_view> names_list() {
    std::vector<std::string_view> names;
    for (const auto& entry : names_of(Enum{})) names.push_back(entry.name);
    return names;
}

// ---------------------------------------------------------------------------------------------
// The validator.

/// The line and column (0-based, in bytes, as yaml-cpp counts them) of `offset` in `text`.
YAML::Mark mark_at(std::string_view text, std::size_t offset) {
    YAML::Mark mark;
    const std::string_view before = text.substr(0, offset);
    const std::size_t last_newline = before.rfind('\n');
    const std::size_t line_start = last_newline == std::string_view::npos ? 0 : last_newline + 1;
    mark.pos = static_cast<int>(offset);
    mark.line = static_cast<int>(std::count(before.begin(), before.end(), '\n'));
    mark.column = static_cast<int>(offset - line_start);
    return mark;
}

/// A byte as a message shows it: "byte 0x00".
std::string byte_name(char c) {
    static constexpr char digits[] = "0123456789ABCDEF";
    const auto b = static_cast<unsigned char>(c);
    return std::string("byte 0x") + digits[b >> 4] + digits[b & 0xF];
}

/// What a pass over the stream's events finds before any tree is built.
struct stream_shape {
    std::optional<YAML::Mark> second_document;  ///< where it starts, if there is one
    std::optional<YAML::Mark> too_many_nodes;   ///< the node past max_config_nodes, if any
};

/// One pass over the YAML events, building nothing: it counts the first document's nodes and
/// looks for a second document's start, stopping at either.
///
/// The count bounds what the tree may cost before YAML::Load builds it: yaml-cpp spends a few
/// hundred bytes per node, so a 16 MiB flow sequence of one-digit numbers ("[1,1,1,...]") would
/// take about 4 GB. The second document is looked for here because yaml-cpp 0.7's LoadAll loops
/// forever, allocating, on some malformed streams (one starting with ','): each pass yields an
/// empty document without consuming a token (yaml-cpp issue #1040, fixed upstream by PR #1319,
/// after Debian 12's version). So the tree comes from Load (the first document alone).
stream_shape scan_stream(const std::string& text) {
    struct node_limit_reached {};
    struct counter final : YAML::EventHandler {
        int documents = 0;
        std::size_t nodes = 0;
        stream_shape shape;
        void node(const YAML::Mark& mark) {
            if (++nodes > max_config_nodes) {
                shape.too_many_nodes = mark;
                throw node_limit_reached{};  // yaml-cpp unwinds: it holds nothing but RAII
            }
        }
        void OnDocumentStart(const YAML::Mark& mark) override {
            if (++documents == 2) shape.second_document = mark;
        }
        void OnDocumentEnd() override {}
        void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
        void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
        void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                      const std::string&) override {
            node(mark);
        }
        void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                             YAML::EmitterStyle::value) override {
            node(mark);
        }
        void OnSequenceEnd() override {}
        void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                        YAML::EmitterStyle::value) override {
            node(mark);
        }
        void OnMapEnd() override {}
    } events;
    std::istringstream stream(text);
    YAML::Parser parser(stream);
    try {
        while (events.documents < 2 && parser.HandleNextDocument(events)) {
        }
    } catch (const node_limit_reached&) {
    }
    return events.shape;
}

class validator {
public:
    explicit validator(std::string_view source) : source_(source) {}

    parse_result run(std::string_view text) {
        if (const auto offset = find_non_text(text)) {
            add(mark_at(text, *offset), "", "not UTF-8 text: the config must be UTF-8",
                byte_name(text[*offset]));
            return finish(std::nullopt);
        }
        YAML::Node root;
        stream_shape shape;
        try {
            const std::string owned(text);
            shape = scan_stream(owned);
            if (shape.too_many_nodes) {
                add(*shape.too_many_nodes, "",
                    "more than " + std::to_string(max_config_nodes) +
                        " YAML nodes (maps, sequences, values), the most a config may hold");
                return finish(std::nullopt);
            }
            root = YAML::Load(owned);
        } catch (const YAML::DeepRecursion& e) {
            // yaml-cpp's own message for this is "bad file".
            add(e.mark, "",
                "nested deeper than " + std::to_string(e.depth() - 1) +
                    " levels, the most the YAML parser reads");
            return finish(std::nullopt);
        } catch (const YAML::Exception& e) {
            // A syntax error leaves no tree to validate: one error, and stop.
            add(e.mark, "", e.msg);
            return finish(std::nullopt);
        }

        if (!root.IsDefined() || root.IsNull()) {
            add(YAML::Mark::null_mark(), "",
                "empty config (expected a map with at least \"listeners\")");
            return finish(std::nullopt);
        }
        if (shape.second_document) {
            add(*shape.second_document, "", "only one YAML document is allowed");
        }
        if (!root.IsMap()) {
            add(root.Mark(), "", "expected a map at the top level", describe(root));
            return finish(std::nullopt);
        }

        config out;
        const section top = open(root, root.Mark(), "", root_keys);
        read_runtime(sub_section(top, "runtime", runtime_keys), out.runtime);
        read_log(sub_section(top, "log", log_keys), out.log);
        read_shutdown(sub_section(top, "shutdown", shutdown_keys), out.shutdown);
        // 0..100 million: 0 is no cap; the bound is a sanity check (each needs a descriptor).
        read_integer(sub_section(top, "limits", limits_keys), "max_connections", 0, 100'000'000,
                     out.limits.max_connections);
        read_admin(top, out.admin);
        read_listeners(top, out.listeners);
        return finish(std::move(out));
    }

private:
    void add(const YAML::Mark& mark, std::string key_path, std::string what, std::string got = {}) {
        config_error error;
        error.source = source_;
        if (!mark.is_null()) {
            error.line = mark.line + 1;
            error.column = mark.column + 1;
        }
        error.key_path = std::move(key_path);
        error.what = std::move(what);
        error.got = shortened(got);
        errors_.push_back(std::move(error));
    }

    /// "file:line:col", for messages that point at a second place.
    std::string position(const YAML::Mark& mark) const {
        return source_ + ":" + std::to_string(mark.line + 1) + ":" +
               std::to_string(mark.column + 1);
    }

    parse_result finish(std::optional<config> value) {
        // File order reads best; errors without a position (line 0) come first.
        std::stable_sort(errors_.begin(), errors_.end(), [](const auto& a, const auto& b) {
            return std::pair(a.line, a.column) < std::pair(b.line, b.column);
        });
        parse_result result;
        if (errors_.empty()) {
            result.value = std::move(value);
        }
        result.errors = std::move(errors_);
        return result;
    }

    /// Checks the keys of a map: unknown keys (with a suggestion) and duplicate keys, which
    /// yaml-cpp accepts silently. An empty value (`runtime:` with every key commented out) is an
    /// empty section, not an error.
    section open(const YAML::Node& node, const YAML::Mark& mark, std::string path,
                 const std::vector<std::string_view>& known) {
        section out{std::move(path), mark, {}};
        if (node.IsNull()) {
            return out;
        }
        if (!node.IsMap()) {
            add(mark, out.path, "expected a map", describe(node));
            return out;
        }
        // Copies: yaml-cpp's iterator yields a temporary pair, so `it->first` would dangle.
        for (const auto& pair : node) {
            const YAML::Node key = pair.first;
            const YAML::Node value = pair.second;
            if (!key.IsScalar()) {
                add(key.Mark(), out.path, "keys must be strings", describe(key));
                continue;
            }
            const std::string& name = key.Scalar();
            if (std::find(known.begin(), known.end(), name) == known.end()) {
                add(key.Mark(), out.path_of(name), unknown_message("key", name, known));
                continue;
            }
            if (const entry* first = out.find(name)) {
                add(key.Mark(), out.path_of(name),
                    "duplicate key, first defined at " + position(first->key_node.Mark()));
                continue;
            }
            out.entries.push_back(entry{name, key, value});
        }
        return out;
    }

    section sub_section(const section& parent, std::string_view key,
                        const std::vector<std::string_view>& known) {
        const entry* e = parent.find(key);
        if (e == nullptr) {
            return section{parent.path_of(key), YAML::Mark::null_mark(), {}};
        }
        return open(e->value, e->mark(), parent.path_of(key), known);
    }

    /// The scalar text of `e`, or an error "expected <what>" and nullopt.
    std::optional<std::string> scalar(const section& s, const entry& e, std::string_view what) {
        if (!e.value.IsScalar()) {
            add(e.mark(), s.path_of(e.key), "expected " + std::string(what), describe(e.value));
            return std::nullopt;
        }
        return e.value.Scalar();
    }

    template <typename Int>
    void read_integer(const section& s, std::string_view key, std::uint64_t lo, std::uint64_t hi,
                      Int& out) {
        static_assert(std::is_unsigned_v<Int>);
        const entry* e = s.find(key);
        if (e == nullptr) {
            return;
        }
        const auto text = scalar(s, *e, "an integer");
        if (!text) {
            return;
        }
        const int_result parsed = parse_uint(*text, lo, hi);
        switch (parsed.status) {
            case int_status::ok: out = static_cast<Int>(parsed.value); return;
            case int_status::not_integer:
                add(e->mark(), s.path_of(key), "expected an integer", *text);
                return;
            case int_status::out_of_range:
                add(e->mark(), s.path_of(key),
                    "must be between " + std::to_string(lo) + " and " + std::to_string(hi), *text);
                return;
        }
    }

    void read_duration(const section& s, std::string_view key, std::chrono::nanoseconds lo,
                       std::chrono::nanoseconds hi, std::chrono::nanoseconds& out) {
        const entry* e = s.find(key);
        if (e == nullptr) {
            return;
        }
        const auto text = scalar(s, *e, "a duration, e.g. \"30s\"");
        if (!text) {
            return;
        }
        const auto parsed = parse_duration(*text);
        if (!parsed.ok()) {
            add(e->mark(), s.path_of(key), parsed.error(), *text);
        } else if (parsed.value() < lo || parsed.value() > hi) {
            add(e->mark(), s.path_of(key),
                "must be between " + format_duration(lo) + " and " + format_duration(hi), *text);
        } else {
            out = parsed.value();
        }
    }

    void read_size(const section& s, std::string_view key, std::uint64_t lo, std::uint64_t hi,
                   std::uint64_t& out) {
        const entry* e = s.find(key);
        if (e == nullptr) {
            return;
        }
        const auto text = scalar(s, *e, "a size, e.g. \"64KiB\"");
        if (!text) {
            return;
        }
        const auto parsed = parse_size(*text);
        if (!parsed.ok()) {
            add(e->mark(), s.path_of(key), parsed.error(), *text);
        } else if (parsed.value() < lo || parsed.value() > hi) {
            add(e->mark(), s.path_of(key),
                "must be between " + format_size(lo) + " and " + format_size(hi), *text);
        } else {
            out = parsed.value();
        }
    }

    /// One of `names` (case-sensitive, with a case-insensitive suggestion); its index or nullopt.
    std::optional<std::size_t> read_choice(const section& s, std::string_view key,
                                           std::string_view noun,
                                           const std::vector<std::string_view>& names) {
        const entry* e = s.find(key);
        if (e == nullptr) {
            return std::nullopt;
        }
        const auto text = scalar(s, *e, "one of: " + join(names));
        if (!text) {
            return std::nullopt;
        }
        const auto it = std::find(names.begin(), names.end(), *text);
        if (it == names.end()) {
            add(e->mark(), s.path_of(key), unknown_message(noun, *text, names), *text);
            return std::nullopt;
        }
        return static_cast<std::size_t>(it - names.begin());
    }

    /// One of `Enum`'s names (enum_names.hpp) into `out`; an unknown name is an error.
    template <named_enum Enum>
    void read_enum(const section& s, std::string_view key, std::string_view noun, Enum& out) {
        static const std::vector<std::string_view> names = names_list<Enum>();
        if (const auto index = read_choice(s, key, noun, names)) {
            out = names_of(Enum{})[*index].value;
        }
    }

    void read_runtime(const section& s, runtime_config& out) {
        read_enum(s, "scheduler", "scheduler", out.scheduler);
        if (const auto busy = read_choice(s, "busy_polling", "boolean", boolean_names)) {
            out.busy_polling = *busy == 1;
        }
        read_threads(s, out);
    }

    void read_threads(const section& s, runtime_config& out) {
        // "auto" or a count; 1024 is a sanity bound, far beyond any machine pier targets.
        constexpr std::uint64_t max_threads = 1024;
        const entry* e = s.find("threads");
        if (e == nullptr) {
            return;
        }
        const auto text = scalar(s, *e, "\"auto\" or an integer");
        if (!text) {
            return;
        }
        if (*text == "auto") {
            out.threads = 0;
            return;
        }
        const int_result parsed = parse_uint(*text, 1, max_threads);
        switch (parsed.status) {
            case int_status::ok: out.threads = static_cast<unsigned>(parsed.value); return;
            case int_status::not_integer:
                add(e->mark(), s.path_of("threads"), "expected \"auto\" or an integer", *text);
                return;
            case int_status::out_of_range:
                add(e->mark(), s.path_of("threads"),
                    "must be \"auto\" or between 1 and " + std::to_string(max_threads), *text);
                return;
        }
    }

    void read_log(const section& s, log_config& out) {
        read_enum(s, "level", "log level", out.level);
        read_enum(s, "format", "log format", out.format);
    }

    void read_shutdown(const section& s, shutdown_config& out) {
        using namespace std::chrono_literals;
        read_duration(s, "drain_timeout", 0s, 1h, out.drain_timeout);
    }

    void read_admin(const section& top, admin_config& out) {
        using namespace std::chrono_literals;
        // The section's presence turns the endpoint on, even with every key commented out.
        if (top.find("admin") == nullptr) return;
        out.enabled = true;
        const section s = sub_section(top, "admin", admin_keys);
        if (const entry* e = s.find("listen")) {
            if (const auto text = scalar(s, *e, "\"host:port\", e.g. \"127.0.0.1:9090\"")) {
                if (auto address = read_address(s, *e, *text)) out.listen = std::move(*address);
            }
        }
        // 1..1024: a handful of scrapers and probes; the bound keeps a flood from holding fds.
        read_integer(s, "max_connections", 1, 1024, out.max_connections);
        read_duration(s, "timeout", 1ms, 10min, out.timeout);
        read_duration(s, "keepalive_timeout", 1ms, 10min, out.keepalive_timeout);
    }

    void read_listeners(const section& top, std::vector<listener_config>& out) {
        const entry* e = top.find("listeners");
        if (e == nullptr) {
            add(top.mark, "listeners", "missing required key");
            return;
        }
        if (!e->value.IsSequence()) {
            add(e->mark(), "listeners", "expected a sequence of listeners", describe(e->value));
            return;
        }
        if (e->value.size() == 0) {
            add(e->mark(), "listeners", "must list at least one listener");
            return;
        }
        const std::vector<std::string_view> keys = listener_keys();
        for (std::size_t i = 0; i < e->value.size(); ++i) {
            const YAML::Node item = e->value[i];
            const std::string path = "listeners[" + std::to_string(i) + "]";
            if (!item.IsMap()) {
                add(item.Mark(), path, "expected a map", describe(item));
                continue;
            }
            out.push_back(read_listener(open(item, item.Mark(), path, keys)));
        }
    }

    listener_config read_listener(const section& s) {
        using namespace std::chrono_literals;
        listener_config out;

        if (const entry* e = s.find("name")) {
            if (const auto name = scalar(s, *e, "a string")) {
                read_name(s, *e, *name, out);
            }
        } else {
            add(s.mark, s.path_of("name"), "missing required key");
        }

        if (const entry* e = s.find("listen")) {
            if (const auto text = scalar(s, *e, "\"host:port\", e.g. \"0.0.0.0:7000\"")) {
                read_listen(s, *e, *text, out);
            }
        } else {
            add(s.mark, s.path_of("listen"), "missing required key");
        }

        // 65535: the kernel stores the backlog in 16 bits (and caps it at somaxconn anyway).
        read_integer(s, "backlog", 1, 65535, out.backlog);

        read_enum(s, "handler", "handler", out.handler);

        // 10 million: a sanity bound; each connection needs a file descriptor and memory.
        read_integer(s, "max_connections", 1, 10'000'000, out.max_connections);
        read_integer(s, "max_connections_per_ip", 0, 10'000'000, out.max_connections_per_ip);
        read_duration(s, "idle_timeout", 0s, 24h, out.idle_timeout);
        read_duration(s, "write_timeout", 0s, 24h, out.write_timeout);
        read_duration(s, "request_timeout", 0s, 24h, out.request_timeout);
        if (const auto accept = read_choice(s, "accept_proxy", "boolean", boolean_names)) {
            out.accept_proxy = *accept == 1;
        }

        // One section per handler, each read whatever the listener's handler is: a section kept
        // for a handler switched off by one line is not an error, and typos in it still are.
        const section echo = sub_section(s, "echo", echo_keys);
        // 1KiB..64MiB: below, per-read overhead dominates; above, a few slow peers hold gigabytes.
        read_size(echo, "max_buffer", 1024, 64 * 1024 * 1024, out.echo.max_buffer);
        read_synthetic(sub_section(s, "synthetic", synthetic_keys), out.synthetic);
        const section proxy = sub_section(s, "proxy", proxy_keys);
        read_proxy(proxy, out.proxy);
        for (const auto& u : out.proxy.upstreams) {
            if (out.handler == handler_kind::proxy && u.address == out.listen) {
                add(proxy.find("upstreams")->mark(), s.path_of("proxy.upstreams"),
                    "the listener's own address: the proxy would connect to itself",
                    u.address.to_string());
            }
        }
        if (out.handler == handler_kind::proxy && proxy.find("upstreams") == nullptr) {
            add(s.find("handler")->mark(), s.path_of("proxy.upstreams"),
                "required when the handler is proxy (at least one \"host:port\")");
        }
        return out;
    }

    void read_proxy(const section& s, proxy_config& out) {
        using namespace std::chrono_literals;
        read_upstreams(s, out.upstreams);
        read_enum(s, "balance", "balance", out.balance);
        read_duration(s, "connect_timeout", 1ms, 10min, out.connect_timeout);
        // 0..100: each retry is one more connect a client waits for.
        read_integer(s, "retries", 0, 100, out.retries);
        if (s.find("idle_timeout") != nullptr) {
            std::chrono::nanoseconds idle = 0s;
            read_duration(s, "idle_timeout", 0s, 24h, idle);
            out.idle_timeout = idle;
        }
        if (s.find("half_close_timeout") != nullptr) {
            std::chrono::nanoseconds half_closed = 1s;
            read_duration(s, "half_close_timeout", 1ms, 24h, half_closed);
            out.half_close_timeout = half_closed;
        }
        // 2KiB..64MiB: each direction's first read takes up to 2KiB, so less bounds nothing.
        read_size(s, "max_buffer", 2048, 64 * 1024 * 1024, out.max_buffer);
        read_integer(s, "max_fails", 0, 1000, out.max_fails);
        read_duration(s, "fail_timeout", 1ms, 1h, out.fail_timeout);
        read_enum(s, "send_proxy", "PROXY protocol version", out.send_proxy);
        // The section's presence turns the checks on, even with every key commented out.
        if (s.find("health_check") != nullptr) {
            out.health_check.emplace();
            read_health_check(sub_section(s, "health_check", health_check_keys), *out.health_check);
        }
    }

    void read_health_check(const section& s, health_check_config& out) {
        using namespace std::chrono_literals;
        // 10ms: the fastest probing that still leaves the upstream time for real work.
        read_duration(s, "interval", 10ms, 1h, out.interval);
        read_duration(s, "timeout", 1ms, 10min, out.timeout);
        // 1..100: how many probes confirm a change; more only delays it.
        read_integer(s, "rise", 1, 100, out.rise);
        read_integer(s, "fall", 1, 100, out.fall);
        read_bytes(s, "send", out.send);
        read_bytes(s, "expect", out.expect);
    }

    /// A string of at most 4KiB: a probe's request or the reply it expects.
    void read_bytes(const section& s, std::string_view key, std::string& out) {
        constexpr std::size_t max_length = 4096;
        const entry* e = s.find(key);
        if (e == nullptr) return;
        const auto text = scalar(s, *e, "a string, e.g. \"PING\\r\\n\"");
        if (!text) return;
        if (text->size() > max_length) {
            add(e->mark(), s.path_of(key), "must be at most " + format_size(max_length) + " long",
                std::to_string(text->size()) + " bytes");
            return;
        }
        out = *text;
    }

    /// `upstreams:` a sequence of "host:port" or {address: "host:port", weight: N}.
    void read_upstreams(const section& s, std::vector<upstream_config>& out) {
        const entry* e = s.find("upstreams");
        if (e == nullptr) return;
        if (!e->value.IsSequence() || e->value.size() == 0) {
            add(e->mark(), s.path_of("upstreams"),
                "expected a sequence of \"host:port\" (or {address, weight})", describe(e->value));
            return;
        }
        const std::string expected = "\"host:port\", e.g. \"127.0.0.1:6379\"";
        for (std::size_t i = 0; i < e->value.size(); ++i) {
            const YAML::Node item = e->value[i];
            const std::string path = s.path_of("upstreams") + "[" + std::to_string(i) + "]";
            upstream_config upstream;
            YAML::Node address_node = item;
            std::string address_path = path;
            if (item.IsMap()) {
                const section u = open(item, item.Mark(), path, upstream_keys);
                // 1..1000: relative shares; finer ratios than 1:1000 mean nothing in practice.
                read_integer(u, "weight", 1, 1000, upstream.weight);
                const entry* a = u.find("address");
                if (a == nullptr) {
                    add(item.Mark(), u.path_of("address"), "missing required key");
                    continue;
                }
                address_node = a->value;
                address_path = u.path_of("address");
            }
            if (!address_node.IsScalar()) {
                add(address_node.Mark(), address_path, "expected " + expected,
                    describe(address_node));
                continue;
            }
            const std::string text = address_node.Scalar();
            auto parsed = parse_listen(text);
            if (const auto* message = std::get_if<std::string>(&parsed)) {
                add(address_node.Mark(), address_path, *message, text);
                continue;
            }
            const auto& ip = std::get<parsed_listen>(parsed).ip;
            upstream.address = std::get<parsed_listen>(parsed).address;
            // Canonical text ("0::1" is "::1"): duplicates and reloads compare addresses as text.
            upstream.address.host = ip.to_string();
            if (upstream.address.port == 0) {
                add(address_node.Mark(), address_path, "port must be between 1 and 65535", text);
                continue;
            }
            if (ip.is_unspecified() || ip.is_multicast()) {
                add(address_node.Mark(), address_path,
                    "must be one host's address (not unspecified or multicast)", text);
                continue;
            }
            const bool duplicate = std::any_of(out.begin(), out.end(), [&](const auto& other) {
                return other.address == upstream.address;
            });
            if (duplicate) {
                add(address_node.Mark(), address_path, "duplicate upstream", text);
                continue;
            }
            out.push_back(std::move(upstream));
        }
    }

    void read_synthetic(const section& s, synthetic_config& out) {
        using limits = synthetic_config;
        read_duration(s, "cpu", 0s, limits::max_cpu, out.cpu);
        read_duration(s, "delay", 0s, limits::max_delay, out.delay);
        // At least 1: the newline that ends every response.
        read_size(s, "response_bytes", 1, limits::max_response_bytes, out.response_bytes);
        // 64B..1MiB: room for a token list; the most a connection may make pier hold.
        read_size(s, "max_line", 64, 1024 * 1024, out.max_line);
    }

    void read_name(const section& s, const entry& e, const std::string& name,
                   listener_config& out) {
        if (name.empty()) {
            add(e.mark(), s.path_of("name"), "must not be empty");
            return;
        }
        if (!std::all_of(name.begin(), name.end(), is_name_char)) {
            add(e.mark(), s.path_of("name"), "must contain only letters, digits, '_', '.', '-'",
                name);
            return;
        }
        for (const auto& [seen, mark] : names_) {
            if (seen == name) {
                add(e.mark(), s.path_of("name"),
                    "duplicate listener name, first defined at " + position(mark), name);
                return;
            }
        }
        names_.emplace_back(name, e.mark());
        out.name = name;
    }

    void read_listen(const section& s, const entry& e, const std::string& text,
                     listener_config& out) {
        if (auto address = read_address(s, e, text)) out.listen = std::move(*address);
    }

    /// A "host:port" that no other listener (or the admin endpoint) uses.
    std::optional<listen_address> read_address(const section& s, const entry& e,
                                               const std::string& text) {
        auto parsed = parse_listen(text);
        if (const auto* message = std::get_if<std::string>(&parsed)) {
            add(e.mark(), s.path_of(e.key), *message, text);
            return std::nullopt;
        }
        auto& listen = std::get<parsed_listen>(parsed);
        // Port 0 asks the kernel for a fresh port per socket, so it never collides.
        if (listen.address.port != 0) {
            for (const auto& seen : addresses_) {
                if (seen.ip == listen.ip && seen.port == listen.address.port) {
                    add(e.mark(), s.path_of(e.key),
                        "duplicate listen address, first defined at " + position(seen.mark), text);
                    return std::nullopt;
                }
            }
            addresses_.push_back(seen_address{listen.ip, listen.address.port, e.mark()});
        }
        return std::move(listen.address);
    }

    struct seen_address {
        ip_literal ip;
        std::uint16_t port;
        YAML::Mark mark;
    };

    std::string source_;
    std::vector<config_error> errors_;
    std::vector<std::pair<std::string, YAML::Mark>> names_;  ///< listener names so far
    std::vector<seen_address> addresses_;                    ///< listen addresses so far
};

}  // namespace

parse_result parse_config(std::string_view text, std::string_view source_name) {
    return validator(source_name).run(text);
}

parse_result load_config(const std::filesystem::path& path) {
    auto file = read_config_file(path);
    if (file.error) {
        config_error error;
        error.source = path.string();
        error.what = std::move(*file.error);
        parse_result result;
        result.errors.push_back(std::move(error));
        return result;
    }
    return parse_config(file.text, path.string());
}

}  // namespace pier::config
