// Each configuration choice's names, declared once, beside its enum (config.hpp): the YAML
// reader (parse.cpp), to_string() for logs, metrics labels and reload summaries all read the
// same table, so a name cannot drift and reordering an enum changes nothing.
//
// An enum takes part by declaring, in its own namespace, `constexpr auto names_of(E)`
// returning a std::array of enum_name<E> (found by argument-dependent lookup).
#pragma once

#include <array>
#include <optional>
#include <string_view>
#include <type_traits>

namespace pier::config {

template <typename Enum>
struct enum_name {
    Enum value;
    std::string_view name;
};

template <typename Enum>
concept named_enum = std::is_enum_v<Enum> && requires(Enum e) {
    names_of(e).size();
};

/// The name of `value` as written in YAML; "unknown" for a value outside the enum.
template <named_enum Enum>
constexpr std::string_view to_string(Enum value) {
    for (const auto& entry : names_of(Enum{})) {
        if (entry.value == value) return entry.name;
    }
    return "unknown";
}

/// The value named `name` (exact, case-sensitive), or nullopt.
template <named_enum Enum>
constexpr std::optional<Enum> from_string(std::string_view name) {
    for (const auto& entry : names_of(Enum{})) {
        if (entry.name == name) return entry.value;
    }
    return std::nullopt;
}

}  // namespace pier::config
