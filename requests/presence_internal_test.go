package requests

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestJSONHasKey(t *testing.T) {
	tests := []struct {
		data, key string
		want      bool
	}{
		{`{"val":0}`, "val", true},
		{` { "val" : false } `, "val", true},
		{`{"VAL":""}`, "val", true},
		{`{"val":null}`, "val", false},
		{`{}`, "val", false},
		{`{"a":{"val":1},"b":["val",{"val":2}],"c":"val"}`, "val", false},
		{`{"a":"x\"y","val":[1,{"z":"}"}]}`, "val", true},
		{`{"v\u0061l":1}`, "val", true},
		{`{"a":1,"b":2,"val":3}`, "val", true},
		{`[{"val":1}]`, "val", false},
		{`{"val":1`, "val", true},
		{`{"a":`, "val", false},
	}
	for _, tt := range tests {
		if got := jsonHasKey([]byte(tt.data), tt.key); got != tt.want {
			t.Errorf("jsonHasKey(%s, %q) = %v, want %v", tt.data, tt.key, got, tt.want)
		}
	}
}

// FuzzJSONHasKey checks the key scan against encoding/json on valid JSON
// objects whose keys differ however they are cased.
func FuzzJSONHasKey(f *testing.F) {
	for _, s := range []string{`{"val":0}`, `{"a":{"val":1},"val":null}`, `{"v\u0061l":"x"}`, `{"x":[{},"]"],"Val":true}`} {
		f.Add(s, "val")
	}
	f.Fuzz(func(t *testing.T, data, key string) {
		var obj map[string]json.RawMessage
		if json.Unmarshal([]byte(data), &obj) != nil || obj == nil {
			return
		}
		dec := json.NewDecoder(strings.NewReader(data))
		seen := map[string]bool{}
		depth := 0
		for {
			tok, err := dec.Token()
			if err != nil {
				break
			}
			switch tok {
			case json.Delim('{'), json.Delim('['):
				depth++
			case json.Delim('}'), json.Delim(']'):
				depth--
			}
			if s, ok := tok.(string); ok && depth == 1 && dec.More() {
				if seen[strings.ToLower(s)] {
					return // keys that differ only in case: encoding/json's choice is subtler
				}
				seen[strings.ToLower(s)] = true
				var skip json.RawMessage
				if dec.Decode(&skip) != nil {
					return
				}
			}
		}
		want := false
		for k, v := range obj {
			if strings.EqualFold(k, key) && !bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
				want = true
			}
		}
		if got := jsonHasKey([]byte(data), key); got != want {
			t.Fatalf("jsonHasKey(%s, %q) = %v, want %v", data, key, got, want)
		}
	})
}
