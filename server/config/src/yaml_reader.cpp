// The generic YAML reader; see yaml_reader.hpp. Also config_error's rendering, which this
// reader's errors are made for (config_error.hpp).
#include "yaml_reader.hpp"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>

#include <algorithm>
#include <charconv>
#include <limits>
#include <sstream>
#include <system_error>
#include <tuple>

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

namespace yaml_reader {

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

/// A value as a message shows it: whole if short, else its start and its length (a message is
/// one line, whatever the file holds).
std::string shortened(const std::string& scalar) {
    constexpr std::size_t shown = 60;
    if (scalar.size() <= shown) return scalar;
    std::size_t cut = shown;  // not inside a UTF-8 sequence
    while (cut > 0 && (static_cast<unsigned char>(scalar[cut]) & 0xC0) == 0x80) --cut;
    return scalar.substr(0, cut) + "... (" + std::to_string(scalar.size()) + " bytes)";
}

}  // namespace

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

// ---------------------------------------------------------------------------------------------
// Sections.

std::string section::path_of(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

const entry* section::find(std::string_view key) {
    if (std::find(known_.begin(), known_.end(), key) == known_.end()) {
        known_.emplace_back(key);
    }
    for (const auto& e : entries_) {
        if (e.key_node.IsScalar() && e.key == key) {
            return &e;
        }
    }
    return nullptr;
}

section& section::sub_section(std::string_view key) {
    const entry* e = find(key);
    if (e == nullptr) {
        return doc_->make_section(path_of(key), YAML::Mark::null_mark());
    }
    return doc_->open(e->value, e->mark(), path_of(key));
}

void section::add(const YAML::Mark& mark, std::string key_path, std::string what, std::string got) {
    doc_->add(mark, std::move(key_path), std::move(what), std::move(got));
}

void section::missing(std::string_view key) { add(mark_, path_of(key), "missing required key"); }

std::string section::position(const YAML::Mark& mark) const { return doc_->position(mark); }

key_location section::location(const entry& e) const {
    return doc_->location(e.mark(), path_of(e.key));
}

std::optional<std::string> section::scalar(const entry& e, std::string_view what) {
    if (!e.value.IsScalar()) {
        add(e.mark(), path_of(e.key), "expected " + std::string(what), describe(e.value));
        return std::nullopt;
    }
    return e.value.Scalar();
}

void section::read_duration(std::string_view key, std::chrono::nanoseconds lo,
                            std::chrono::nanoseconds hi, std::chrono::nanoseconds& out) {
    const entry* e = find(key);
    if (e == nullptr) {
        return;
    }
    const auto text = scalar(*e, "a duration, e.g. \"30s\"");
    if (!text) {
        return;
    }
    const auto parsed = parse_duration(*text);
    if (!parsed.ok()) {
        add(e->mark(), path_of(key), parsed.error(), *text);
    } else if (parsed.value() < lo || parsed.value() > hi) {
        add(e->mark(), path_of(key),
            "must be between " + format_duration(lo) + " and " + format_duration(hi), *text);
    } else {
        out = parsed.value();
    }
}

void section::read_size(std::string_view key, std::uint64_t lo, std::uint64_t hi,
                        std::uint64_t& out) {
    const entry* e = find(key);
    if (e == nullptr) {
        return;
    }
    const auto text = scalar(*e, "a size, e.g. \"64KiB\"");
    if (!text) {
        return;
    }
    const auto parsed = parse_size(*text);
    if (!parsed.ok()) {
        add(e->mark(), path_of(key), parsed.error(), *text);
    } else if (parsed.value() < lo || parsed.value() > hi) {
        add(e->mark(), path_of(key),
            "must be between " + format_size(lo) + " and " + format_size(hi), *text);
    } else {
        out = parsed.value();
    }
}

std::optional<std::size_t> section::read_choice(std::string_view key, std::string_view noun,
                                                const std::vector<std::string_view>& names) {
    const entry* e = find(key);
    if (e == nullptr) {
        return std::nullopt;
    }
    const auto text = scalar(*e, "one of: " + join(names));
    if (!text) {
        return std::nullopt;
    }
    const auto it = std::find(names.begin(), names.end(), *text);
    if (it == names.end()) {
        add(e->mark(), path_of(key), unknown_message(noun, *text, names), *text);
        return std::nullopt;
    }
    return static_cast<std::size_t>(it - names.begin());
}

std::optional<bool> section::read_boolean(std::string_view key) {
    static const std::vector<std::string_view> names{"false", "true"};
    if (const auto index = read_choice(key, "boolean", names)) return *index == 1;
    return std::nullopt;
}

void section::read_string(std::string_view key, std::string_view what, std::size_t max_length,
                          std::string& out) {
    const entry* e = find(key);
    if (e == nullptr) return;
    const auto text = scalar(*e, what);
    if (!text) return;
    if (text->size() > max_length) {
        add(e->mark(), path_of(key), "must be at most " + format_size(max_length) + " long",
            std::to_string(text->size()) + " bytes");
        return;
    }
    out = *text;
}

void section::report_keys() {
    std::vector<std::string_view> known(known_.begin(), known_.end());
    std::vector<const entry*> firsts;  // the first entry of each known key present
    for (const auto& e : entries_) {
        if (!e.key_node.IsScalar()) {
            doc_->add_at(order_, e.key_node.Mark(), path_, "keys must be strings",
                         describe(e.key_node));
            continue;
        }
        if (std::find(known.begin(), known.end(), e.key) == known.end()) {
            doc_->add_at(order_, e.key_node.Mark(), path_of(e.key),
                         unknown_message("key", e.key, known));
            continue;
        }
        const auto first = std::find_if(firsts.begin(), firsts.end(),
                                        [&](const entry* f) { return f->key == e.key; });
        if (first != firsts.end()) {
            // yaml-cpp accepts duplicate keys silently (the last one wins).
            doc_->add_at(order_, e.key_node.Mark(), path_of(e.key),
                         "duplicate key, first defined at " + position((*first)->key_node.Mark()));
            continue;
        }
        firsts.push_back(&e);
    }
}

// ---------------------------------------------------------------------------------------------
// Documents.

namespace {

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
    std::optional<YAML::Mark> too_many_nodes;   ///< the node past the limit, if any
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
stream_shape scan_stream(const std::string& text, std::size_t max_nodes) {
    struct node_limit_reached {};
    struct counter final : YAML::EventHandler {
        std::size_t limit = 0;
        int documents = 0;
        std::size_t nodes = 0;
        stream_shape shape;
        void node(const YAML::Mark& mark) {
            if (++nodes > limit) {
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
    events.limit = max_nodes;
    std::istringstream stream(text);
    YAML::Parser parser(stream);
    try {
        while (events.documents < 2 && parser.HandleNextDocument(events)) {
        }
    } catch (const node_limit_reached&) {
    }
    return events.shape;
}

}  // namespace

std::optional<YAML::Node> document::load_map(std::string_view text, std::size_t max_nodes,
                                             std::string_view empty_message) {
    if (const auto offset = find_non_text(text)) {
        add(mark_at(text, *offset), "", "not UTF-8 text: the config must be UTF-8",
            byte_name(text[*offset]));
        return std::nullopt;
    }
    YAML::Node root;
    stream_shape shape;
    try {
        const std::string owned(text);
        shape = scan_stream(owned, max_nodes);
        if (shape.too_many_nodes) {
            add(*shape.too_many_nodes, "",
                "more than " + std::to_string(max_nodes) +
                    " YAML nodes (maps, sequences, values), the most a config may hold");
            return std::nullopt;
        }
        root = YAML::Load(owned);
    } catch (const YAML::DeepRecursion& e) {
        // yaml-cpp's own message for this is "bad file".
        add(e.mark, "",
            "nested deeper than " + std::to_string(e.depth() - 1) +
                " levels, the most the YAML parser reads");
        return std::nullopt;
    } catch (const YAML::Exception& e) {
        // A syntax error leaves no tree to validate: one error, and stop.
        add(e.mark, "", e.msg);
        return std::nullopt;
    }

    if (!root.IsDefined() || root.IsNull()) {
        add(YAML::Mark::null_mark(), "", std::string(empty_message));
        return std::nullopt;
    }
    if (shape.second_document) {
        add(*shape.second_document, "", "only one YAML document is allowed");
    }
    if (!root.IsMap()) {
        add(root.Mark(), "", "expected a map at the top level", describe(root));
        return std::nullopt;
    }
    return root;
}

section& document::open(const YAML::Node& node, const YAML::Mark& mark, std::string path) {
    // The order is taken now: the section's key errors, found when the document is finished,
    // sort as if found here, before what the schema then reads from it.
    section& out = make_section(std::move(path), mark);
    if (node.IsNull()) {
        return out;
    }
    if (!node.IsMap()) {
        add(mark, out.path(), "expected a map", describe(node));
        return out;
    }
    // Copies: yaml-cpp's iterator yields a temporary pair, so `it->first` would dangle.
    for (const auto& pair : node) {
        const YAML::Node key = pair.first;
        const YAML::Node value = pair.second;
        out.entries_.push_back(entry{key.IsScalar() ? key.Scalar() : std::string(), key, value});
    }
    return out;
}

section& document::make_section(std::string path, YAML::Mark mark) {
    return sections_.emplace_back(document_only(), *this, std::move(path), mark, next_order_++);
}

void document::add(const YAML::Mark& mark, std::string key_path, std::string what,
                   std::string got) {
    add_at(next_order_++, mark, std::move(key_path), std::move(what), std::move(got));
}

void document::add_at(std::size_t order, const YAML::Mark& mark, std::string key_path,
                      std::string what, std::string got) {
    errors_.emplace_back(
        order, location(mark, std::move(key_path)).error(std::move(what), shortened(got)));
}

std::string document::position(const YAML::Mark& mark) const {
    return source_ + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
}

key_location document::location(const YAML::Mark& mark, std::string key_path) const {
    key_location at;
    at.source = source_;
    if (!mark.is_null()) {
        at.line = mark.line + 1;
        at.column = mark.column + 1;
    }
    at.key_path = std::move(key_path);
    return at;
}

std::vector<config_error> document::finish() {
    for (auto& s : sections_) s.report_keys();
    // File order reads best; errors without a position (line 0) come first. Among errors at one
    // position, the order they were found in (or, for key errors, their section was opened).
    std::stable_sort(errors_.begin(), errors_.end(), [](const auto& a, const auto& b) {
        return std::tuple(a.second.line, a.second.column, a.first) <
               std::tuple(b.second.line, b.second.column, b.first);
    });
    std::vector<config_error> out;
    out.reserve(errors_.size());
    for (auto& [order, error] : errors_) out.push_back(std::move(error));
    errors_.clear();
    return out;
}

}  // namespace yaml_reader
}  // namespace pier::config
