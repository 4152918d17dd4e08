package openapi

import (
	"path"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// names gives every component a name that is valid in a $ref
// (^[a-zA-Z0-9._-]+$), unique, and decided by the set of types alone:
//
//   - the type's short name: "User", "PageUser" for Page[x.User];
//   - when several types share it, each is qualified by its package name:
//     "models.User" and "legacy.User";
//   - then by its whole import path: "example.com.a.models.User";
//   - and types that are still alike (types declared inside functions)
//     get a number in first-seen order: "User_2".
//
// The request side of a type that has one of its own carries its suffix
// after the name: "UserInput", "models.UserInput".
//
// A name in reservedNames is kept for its framework type.
func names(cs []*component) {
	short := map[string][]*component{}
	for _, c := range cs {
		n := shortName(c.t) + c.suffix
		short[n] = append(short[n], c)
	}
	used := map[string]bool{}
	var pending []*component // in first-seen order
	for _, c := range cs {
		n := shortName(c.t) + c.suffix
		if r, reserved := reservedNames[n]; reserved {
			if r == c.t {
				c.name = n
				used[n] = true
			} else {
				pending = append(pending, c)
			}
			continue
		}
		if len(short[n]) == 1 {
			c.name = n
			used[n] = true
			continue
		}
		pending = append(pending, c)
	}
	for _, level := range []func(reflect.Type) string{pkgName, pkgPathName} {
		count := map[string]int{}
		for _, c := range pending {
			count[level(c.t)+"."+qualifiedName(c.t)+c.suffix]++
		}
		var rest []*component
		for _, c := range pending {
			n := level(c.t) + "." + qualifiedName(c.t) + c.suffix
			if count[n] == 1 && !used[n] {
				c.name = n
				used[n] = true
				continue
			}
			rest = append(rest, c)
		}
		pending = rest
	}
	for _, c := range pending {
		base := pkgName(c.t) + "." + qualifiedName(c.t) + c.suffix
		for i := 2; ; i++ {
			n := base + "_" + strconv.Itoa(i)
			if !used[n] {
				c.name = n
				used[n] = true
				break
			}
		}
	}
}

var invalidNameChars = regexp.MustCompile(`[^a-zA-Z0-9._-]+`)

// pkgName is the last element of t's import path that is not a major
// version ("v2").
func pkgName(t reflect.Type) string {
	p := t.PkgPath()
	base := path.Base(p)
	if len(base) > 1 && base[0] == 'v' && isDigits(base[1:]) {
		base = path.Base(path.Dir(p))
	}
	return sanitize(base)
}

// pkgPathName is t's whole import path as a name: "example.com.a.models".
func pkgPathName(t reflect.Type) string {
	return sanitize(strings.ReplaceAll(t.PkgPath(), "/", "."))
}

func sanitize(s string) string {
	s = invalidNameChars.ReplaceAllString(s, "_")
	if s == "" {
		return "_"
	}
	return s
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// shortName is a type's name without package, generic arguments flattened:
// Page[example.com/x.User] is "PageUser", Pair[string,[]*x.Item] is
// "PairStringListItem", Box[map[string]int] is "BoxMapStringInt".
func shortName(t reflect.Type) string {
	if n := flatName(t.Name(), false, false); n != "" {
		return n
	}
	return "Type"
}

// qualifiedName is shortName with the generic arguments qualified by their
// package: Page[example.com/legacy.User] is "PageLegacyUser".
func qualifiedName(t reflect.Type) string {
	if n := flatName(t.Name(), true, false); n != "" {
		return n
	}
	return "Type"
}

// flatName flattens a type string into letters and digits. qualifyArgs
// keeps the package name of generic arguments, qualifySelf that of the type
// itself.
func flatName(s string, qualifyArgs, qualifySelf bool) string {
	inner := func(s string) string { return flatName(s, qualifyArgs, qualifySelf) }
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return ""
	case strings.HasPrefix(s, "*"):
		return inner(s[1:])
	case strings.HasPrefix(s, "[]"):
		return "List" + inner(s[2:])
	case strings.HasPrefix(s, "map["):
		end := matching(s, len("map"))
		return "Map" + inner(s[len("map["):end]) + inner(s[end+1:])
	case strings.HasPrefix(s, "["):
		end := matching(s, 0)
		return "Array" + inner(s[end+1:])
	case strings.HasPrefix(s, "interface {"), strings.HasPrefix(s, "interface{"):
		return "Any"
	case strings.HasPrefix(s, "struct {"), strings.HasPrefix(s, "struct{"):
		return "Struct"
	case strings.HasPrefix(s, "func("), strings.HasPrefix(s, "chan "):
		return "Func"
	}
	base, args := s, ""
	if i := strings.IndexByte(s, '['); i >= 0 {
		base, args = s[:i], s[i+1:matching(s, i)]
	}
	base = base[strings.LastIndexByte(base, '/')+1:]
	var b strings.Builder
	if pkg, name, found := strings.Cut(base, "."); found {
		if qualifySelf {
			b.WriteString(upperFirst(ident(pkg)))
		}
		base = name
	}
	b.WriteString(upperFirst(ident(base)))
	for _, a := range splitTop(args) {
		b.WriteString(upperFirst(flatName(a, qualifyArgs, qualifyArgs)))
	}
	return b.String()
}

// matching returns the index of the ']' that closes the '[' at s[open].
func matching(s string, open int) int {
	depth := 0
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '[':
			depth++
		case ']':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return len(s) - 1
}

// splitTop splits s at the commas outside brackets.
func splitTop(s string) []string {
	if s == "" {
		return nil
	}
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[', '(', '{':
			depth++
		case ']', ')', '}':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

func ident(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_') {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
