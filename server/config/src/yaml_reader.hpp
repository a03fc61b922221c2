// A generic reader of YAML with positioned errors, private to the config layer: loading a
// document safely (UTF-8, node count, one document), walking its maps key by key, and typed
// readers (integers, durations, sizes, choices, strings) that record an error at the value's
// file:line:col instead of stopping, with "did you mean" suggestions for misspelt words.
//
// It knows nothing of pier's keys: parse.cpp, the schema, says which sections and keys exist.
// A section learns its known keys from the lookups the schema makes (section::find and the
// readers built on it), and its unknown and duplicate keys are reported when the document is
// finished, ordered as if they had been found when the section was opened. So adding a key to
// the schema is one read, with no separate list of key names to keep in step. The price: a
// reader asks for every key of its section whatever it has read so far (no return before a
// lookup), or a key it skipped would be reported unknown; and the order of first lookups is the
// order "expected one of: ..." lists the keys in.
//
// yaml-cpp's own conversions (`as<T>`) are lax (they accept "0x10", "1e3", "-1" for unsigned),
// so scalars are read as text and parsed here. One document per thread; no shared state.
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "pier/config/config_error.hpp"
#include "pier/config/enum_names.hpp"

namespace pier::config::yaml_reader {

/// "unknown <noun>, did you mean "x"?" or "unknown <noun> (expected one of: a, b)".
std::string unknown_message(std::string_view noun, std::string_view word,
                            const std::vector<std::string_view>& candidates);

/// The words separated by ", ".
std::string join(const std::vector<std::string_view>& words);

/// The value as an operator wrote it, for the "(got ...)" part of a message.
std::string describe(const YAML::Node& node);

enum class int_status { ok, not_integer, out_of_range };

struct int_result {
    int_status status = int_status::not_integer;
    std::uint64_t value = 0;
};

/// A plain decimal integer within [lo, hi]. A negative or too-long number is out of range
/// rather than "not an integer", because that is the message that helps.
int_result parse_uint(std::string_view text, std::uint64_t lo, std::uint64_t hi);

/// The names of `Enum`'s values, in its table's order (enum_names.hpp).
template <named_enum Enum>
std::vector<std::string_view> names_list() {
    std::vector<std::string_view> names;
    for (const auto& entry : names_of(Enum{})) names.push_back(entry.name);
    return names;
}

/// One key of a YAML map.
struct entry {
    std::string key;  ///< empty when the key is not a string
    YAML::Node key_node;
    YAML::Node value;

    /// Where errors about the value point. An empty value's own mark is where the next token
    /// starts, often on the next line, so those errors point at the key instead.
    YAML::Mark mark() const { return value.IsNull() ? key_node.Mark() : value.Mark(); }
};

class document;

/// What only a document can make: the sections it owns (see section's constructor).
class document_only {
    friend class document;
    document_only() = default;
};

/// A YAML map being read: its entries in file order, and the keys the schema has asked for.
/// Owned by its document (references stay valid until the document is destroyed).
class section {
public:
    /// Only a document makes sections (document::open), so that it reports their keys.
    section(document_only, document& doc, std::string path, YAML::Mark mark, std::size_t order)
        : doc_(&doc), path_(std::move(path)), mark_(mark), order_(order) {}
    section(const section&) = delete;
    section& operator=(const section&) = delete;

    const std::string& path() const { return path_; }  ///< "listeners[0].echo"; "" for the root
    const YAML::Mark& mark() const { return mark_; }   ///< where "missing required key" points

    /// "<path>.<key>", or `key` at the root.
    std::string path_of(std::string_view key) const;

    /// The first entry named `key`, or nullptr. Either way `key` becomes a known key of this
    /// section: the schema's lookups, in the order first made, are the section's key list.
    const entry* find(std::string_view key);

    /// The map under `key` as a section (an empty one when `key` is absent or empty).
    section& sub_section(std::string_view key);

    /// Records an error (see document::add).
    void add(const YAML::Mark& mark, std::string key_path, std::string what, std::string got = {});

    /// Records "missing required key" for `key`, at the section's mark.
    void missing(std::string_view key);

    /// "file:line:col", for messages that point at a second place.
    std::string position(const YAML::Mark& mark) const;

    /// Where `e`'s value was written, for errors found after parsing.
    key_location location(const entry& e) const;

    /// The scalar text of `e`, or an error "expected <what>" and nullopt.
    std::optional<std::string> scalar(const entry& e, std::string_view what);

    /// An integer within [lo, hi] into `out`; otherwise an error, and `out` is left alone (as
    /// by every reader below, and when the key is absent).
    template <typename Int>
    void read_integer(std::string_view key, std::uint64_t lo, std::uint64_t hi, Int& out);

    /// A duration ("30s", units.hpp) within [lo, hi] into `out`.
    void read_duration(std::string_view key, std::chrono::nanoseconds lo,
                       std::chrono::nanoseconds hi, std::chrono::nanoseconds& out);

    /// A size ("64KiB", units.hpp) within [lo, hi] into `out`.
    void read_size(std::string_view key, std::uint64_t lo, std::uint64_t hi, std::uint64_t& out);

    /// One of `names` (case-sensitive, with a case-insensitive suggestion); its index or nullopt.
    std::optional<std::size_t> read_choice(std::string_view key, std::string_view noun,
                                           const std::vector<std::string_view>& names);

    /// One of `Enum`'s names (enum_names.hpp) into `out`; an unknown name is an error.
    template <named_enum Enum>
    void read_enum(std::string_view key, std::string_view noun, Enum& out);

    /// "true" or "false", or nullopt. Strict: YAML 1.1's yes/no/on/off are not booleans here
    /// (a typo would turn into one).
    std::optional<bool> read_boolean(std::string_view key);

    /// A string of at most `max_length` bytes into `out`; `what` describes one ("a string,
    /// e.g. ...") for a value that is not a scalar.
    void read_string(std::string_view key, std::string_view what, std::size_t max_length,
                     std::string& out);

private:
    friend class document;

    /// Records this section's non-string, unknown and duplicate keys, in file order.
    void report_keys();

    document* doc_;
    std::string path_;
    YAML::Mark mark_;
    std::size_t order_;               ///< where its key errors sort among equal positions
    std::vector<entry> entries_;      ///< every key, in file order, duplicates included
    std::vector<std::string> known_;  ///< the keys asked for, in the order first asked
};

/// One YAML document being read: the errors found so far and the sections opened.
class document {
public:
    /// `source` is the file part of error positions.
    explicit document(std::string_view source) : source_(source) {}

    /// The document's top-level map, or nullopt once the reason is recorded: text that is not
    /// UTF-8, more than `max_nodes` nodes, a syntax error, an empty document (`empty_message`)
    /// or one that is not a map. A second document is an error, but the first is still read.
    std::optional<YAML::Node> load_map(std::string_view text, std::size_t max_nodes,
                                       std::string_view empty_message);

    /// `node` as a section at `path`; `mark` is where errors about the map itself point. An
    /// empty value (`runtime:` with every key commented out) is an empty section, not an error.
    section& open(const YAML::Node& node, const YAML::Mark& mark, std::string path);

    /// Records an error at `mark` (a null mark: no position).
    void add(const YAML::Mark& mark, std::string key_path, std::string what, std::string got = {});

    /// "file:line:col", for messages that point at a second place.
    std::string position(const YAML::Mark& mark) const;

    /// `mark` in this document, under `key_path`.
    key_location location(const YAML::Mark& mark, std::string key_path) const;

    /// Every error, in file order (those without a position first), after reporting the
    /// sections' unknown and duplicate keys. Call once, when the schema has read everything.
    std::vector<config_error> finish();

private:
    friend class section;
    /// A new section, whose key errors sort as if found now.
    section& make_section(std::string path, YAML::Mark mark);

    /// Records an error that sorts, among errors at the same position, as if added when
    /// `order` was reserved.
    void add_at(std::size_t order, const YAML::Mark& mark, std::string key_path, std::string what,
                std::string got = {});

    std::string source_;
    std::size_t next_order_ = 0;
    std::vector<std::pair<std::size_t, config_error>> errors_;  ///< with the order each sorts by
    std::deque<section> sections_;  ///< a deque: sections are handed out by reference
};

template <typename Int>
void section::read_integer(std::string_view key, std::uint64_t lo, std::uint64_t hi, Int& out) {
    static_assert(std::is_unsigned_v<Int>);
    const entry* e = find(key);
    if (e == nullptr) {
        return;
    }
    const auto text = scalar(*e, "an integer");
    if (!text) {
        return;
    }
    const int_result parsed = parse_uint(*text, lo, hi);
    switch (parsed.status) {
        case int_status::ok: out = static_cast<Int>(parsed.value); return;
        case int_status::not_integer:
            add(e->mark(), path_of(key), "expected an integer", *text);
            return;
        case int_status::out_of_range:
            add(e->mark(), path_of(key),
                "must be between " + std::to_string(lo) + " and " + std::to_string(hi), *text);
            return;
    }
}

template <named_enum Enum>
void section::read_enum(std::string_view key, std::string_view noun, Enum& out) {
    static const std::vector<std::string_view> names = names_list<Enum>();
    if (const auto index = read_choice(key, noun, names)) {
        out = names_of(Enum{})[*index].value;
    }
}

}  // namespace pier::config::yaml_reader
