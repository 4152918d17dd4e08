package requests

import (
	"net/url"
	"strings"
)

// maxQueryScan is the number of '&' separators up to which a query is
// scanned in place; a longer query goes through gin's parsed copy, which
// also applies net/url's limit on the number of parameters.
const maxQueryScan = 100

// queryScan reports whether the raw query q can be scanned in place.
func queryScan(q string) bool {
	return strings.Count(q, "&") <= maxQueryScan
}

// queryValue returns the first value of key in the raw query q, found as
// url.ParseQuery finds it: pairs split on '&', a pair containing ';' or a
// malformed escape skipped, keys and values unescaped. It builds no map and
// allocates only to unescape a key or value that has an escape.
func queryValue(q, key string) (string, bool) {
	for q != "" {
		var pair string
		pair, q, _ = strings.Cut(q, "&")
		if v, ok := pairValue(pair, key); ok {
			return v, true
		}
	}
	return "", false
}

// queryValues returns every value of key in the raw query q, in order, as
// url.ParseQuery finds them.
func queryValues(q, key string) []string {
	var vals []string
	for q != "" {
		var pair string
		pair, q, _ = strings.Cut(q, "&")
		if v, ok := pairValue(pair, key); ok {
			vals = append(vals, v)
		}
	}
	return vals
}

// pairValue returns the value of one "key=value" pair of a raw query when
// its key is key and both halves unescape. A pair with a ';' counts for
// nothing, as in url.ParseQuery.
func pairValue(pair, key string) (string, bool) {
	if pair == "" {
		return "", false
	}
	k, v, _ := strings.Cut(pair, "=")
	if escaped(k) {
		var err error
		if k, err = url.QueryUnescape(k); err != nil {
			return "", false
		}
	}
	if k != key || strings.IndexByte(pair, ';') >= 0 {
		return "", false
	}
	if escaped(v) {
		var err error
		if v, err = url.QueryUnescape(v); err != nil {
			return "", false
		}
	}
	return v, true
}

// escaped reports whether s has an escape ('%' or '+') to undo.
func escaped(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' || s[i] == '+' {
			return true
		}
	}
	return false
}
