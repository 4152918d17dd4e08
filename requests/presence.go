package requests

import (
	"bytes"
	"encoding/json"
	"strings"
)

// presence records which fields of a request were sent: a bit per
// parameter field (set while binding), and the JSON body, whose top-level
// keys are scanned only when a question about a body field comes up — when
// a field that must be sent, or that failed a rule, holds its zero value.
// A field that is not zero was sent; so the common request, every field
// sent and valid, never scans.
type presence struct {
	bits  [2]uint64 // fields 0..127 of the plan
	extra []int     // fields from 128 on, rare
	body  []byte    // the JSON body, nil when there is none
}

func (s *presence) set(i int) {
	if i < 128 {
		s.bits[i/64] |= 1 << (i % 64)
		return
	}
	s.extra = append(s.extra, i)
}

func (s *presence) param(i int) bool {
	if i < 128 {
		return s.bits[i/64]&(1<<(i%64)) != 0
	}
	for _, j := range s.extra {
		if j == i {
			return true
		}
	}
	return false
}

// sent reports whether field i of fields (a plan's Fields, or the top-level
// fields of a whole body) was sent. A JSON key counts when its value is not
// null; keys match field names as encoding/json matches them, ignoring case.
func (s *presence) sent(f *Field, i int) bool {
	if f.Source != Body {
		return s.param(i)
	}
	return jsonHasKey(s.body, f.Key)
}

// jsonHasKey reports whether the JSON object data (already known to be
// valid JSON) has the key, matched case-insensitively as encoding/json
// matches keys to fields, with a value other than null. It allocates only
// for a key with escapes.
func jsonHasKey(data []byte, key string) bool {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return false
	}
	i++
	for {
		i = skipSpace(data, i)
		if i >= len(data) || data[i] != '"' {
			return false // '}' or malformed: no more keys
		}
		end := stringEnd(data, i)
		if end < 0 {
			return false
		}
		k := data[i+1 : end-1]
		match := false
		if bytes.IndexByte(k, '\\') >= 0 {
			var unq string
			if json.Unmarshal(data[i:end], &unq) == nil {
				match = strings.EqualFold(unq, key)
			}
		} else {
			match = len(k) == len(key) && strings.EqualFold(string(k), key)
		}
		i = skipSpace(data, end)
		if i >= len(data) || data[i] != ':' {
			return false
		}
		i = skipSpace(data, i+1)
		if match && !bytes.HasPrefix(data[i:], []byte("null")) {
			return true
		}
		if i = valueEnd(data, i); i < 0 {
			return false
		}
		i = skipSpace(data, i)
		if i >= len(data) || data[i] != ',' {
			return false
		}
		i++
	}
}

func skipSpace(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\r', '\n':
			i++
		default:
			return i
		}
	}
	return i
}

// stringEnd returns the index after the JSON string that starts at i, or -1.
func stringEnd(data []byte, i int) int {
	for j := i + 1; j < len(data); j++ {
		switch data[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// valueEnd returns the index after the JSON value that starts at i, or -1.
func valueEnd(data []byte, i int) int {
	depth := 0
	for i < len(data) {
		switch c := data[i]; c {
		case '"':
			if i = stringEnd(data, i); i < 0 {
				return -1
			}
			if depth == 0 {
				return i
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i // the end of a scalar
			}
			depth--
			if depth == 0 {
				return i + 1
			}
		case ',':
			if depth == 0 {
				return i
			}
		case ' ', '\t', '\r', '\n':
			if depth == 0 {
				return i
			}
		}
		i++
	}
	if depth == 0 {
		return i
	}
	return -1
}
