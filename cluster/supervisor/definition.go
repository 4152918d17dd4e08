package supervisor

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/replicaflow/replicaflow/cluster/internal/httpx"
	"github.com/replicaflow/replicaflow/registry"
	"github.com/replicaflow/replicaflow/responses"
)

// maxDocument bounds one worker's OpenAPI document.
const maxDocument = 8 << 20

// Definition fetches /openapi.json from one healthy instance of each
// service and combines them into one OpenAPI 3 document. Each service's
// paths are put under /{service} (the gateway's routes), and its
// components and operation IDs are prefixed with "{service}_" (with every
// $ref and security requirement rewritten), so names never collide; a
// document-wide security requirement moves onto each operation that has
// none of its own, and tags are merged by name. A worker's servers are
// dropped: the combined paths are the gateway's, not the worker's.
// x-services reports each service's URL and whether its document was
// fetched.
func (s *Supervisor) Definition(ctx context.Context) (map[string]any, error) {
	list, err := s.opts.Registry.Find(ctx, "")
	if err != nil {
		return nil, err
	}
	pick := map[string]registry.Instance{}
	for _, inst := range list {
		if h, ok := s.snapshot(inst.Service + "/" + inst.ID); ok {
			inst.Status = h.status
		}
		if _, done := pick[inst.Service]; !done && inst.Status == registry.StatusHealthy {
			pick[inst.Service] = inst
		}
	}
	names := make([]string, 0, len(pick))
	for n := range pick {
		names = append(names, n)
	}
	sort.Strings(names)
	docs := make([]map[string]any, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, n := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			docs[i], errs[i] = s.fetchDocument(ctx, pick[n])
		}()
	}
	wg.Wait()

	paths := map[string]any{}
	components := map[string]any{}
	services := map[string]any{}
	var tags []any
	seenTags := map[string]bool{}
	for i, n := range names {
		info := map[string]any{"url": pick[n].BaseURL(), "status": "ok"}
		services[n] = info
		if errs[i] != nil {
			info["status"] = "not running"
			info["error"] = errs[i].Error()
			continue
		}
		mergeDocument(n, docs[i], paths, components)
		list, _ := docs[i]["tags"].([]any)
		for _, t := range list {
			if m, ok := t.(map[string]any); ok {
				if name, _ := m["name"].(string); name != "" && !seenTags[name] {
					seenTags[name] = true
					tags = append(tags, m)
				}
			}
		}
	}
	doc := map[string]any{
		"openapi":    "3.0.3",
		"info":       map[string]any{"title": "replicaflow cluster", "version": "1"},
		"paths":      paths,
		"components": components,
		"x-services": services,
	}
	if len(tags) > 0 {
		doc["tags"] = tags
	}
	return doc, nil
}

func (s *Supervisor) fetchDocument(ctx context.Context, inst registry.Instance) (map[string]any, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, inst.BaseURL()+"/openapi.json", nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.opts.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /openapi.json returned %d", resp.StatusCode)
	}
	var doc map[string]any
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxDocument)).Decode(&doc); err != nil {
		return nil, fmt.Errorf("GET /openapi.json: %w", err)
	}
	return doc, nil
}

// mergeDocument adds one service's document to the combined paths and
// components, renaming what could collide.
func mergeDocument(service string, doc map[string]any, paths, components map[string]any) {
	prefix := service + "_"
	doc = rewriteRefs(doc, prefix).(map[string]any)
	if comps, ok := doc["components"].(map[string]any); ok {
		for kind, v := range comps {
			items, ok := v.(map[string]any)
			if !ok {
				continue
			}
			dst, _ := components[kind].(map[string]any)
			if dst == nil {
				dst = map[string]any{}
				components[kind] = dst
			}
			for name, item := range items {
				dst[prefix+name] = item
			}
		}
	}
	global, hasGlobal := doc["security"].([]any)
	if ps, ok := doc["paths"].(map[string]any); ok {
		for p, item := range ps {
			if ops, ok := item.(map[string]any); ok {
				delete(ops, "servers")
				for method, op := range ops {
					o, ok := op.(map[string]any)
					if !ok || !httpMethods[method] {
						continue
					}
					delete(o, "servers")
					if id, ok := o["operationId"].(string); ok {
						o["operationId"] = prefix + id
					}
					if sec, ok := o["security"].([]any); ok {
						o["security"] = renameSchemes(sec, prefix)
					} else if hasGlobal {
						o["security"] = renameSchemes(global, prefix)
					}
				}
			}
			paths["/"+service+"/"+strings.TrimPrefix(p, "/")] = item
		}
	}
}

// httpMethods are the keys of a path item that hold operations.
var httpMethods = map[string]bool{
	"get": true, "put": true, "post": true, "delete": true,
	"options": true, "head": true, "patch": true, "trace": true,
}

// renameSchemes returns security requirements naming the schemes with
// prefix, as their components were renamed. An empty requirement (no
// authentication) stays empty.
func renameSchemes(reqs []any, prefix string) []any {
	out := make([]any, 0, len(reqs))
	for _, r := range reqs {
		m, ok := r.(map[string]any)
		if !ok {
			continue
		}
		renamed := make(map[string]any, len(m))
		for name, scopes := range m {
			renamed[prefix+name] = scopes
		}
		out = append(out, renamed)
	}
	return out
}

// rewriteRefs renames local component references "#/components/{kind}/X"
// to "#/components/{kind}/{prefix}X" everywhere in v.
func rewriteRefs(v any, prefix string) any {
	switch t := v.(type) {
	case map[string]any:
		for k, child := range t {
			if ref, ok := child.(string); ok && k == "$ref" && strings.HasPrefix(ref, "#/components/") {
				parts := strings.SplitN(ref, "/", 4)
				if len(parts) == 4 {
					t[k] = strings.Join(parts[:3], "/") + "/" + prefix + parts[3]
				}
				continue
			}
			t[k] = rewriteRefs(child, prefix)
		}
	case []any:
		for i := range t {
			t[i] = rewriteRefs(t[i], prefix)
		}
	}
	return v
}

func (s *Supervisor) handleDefinition(w http.ResponseWriter, r *http.Request) {
	doc, err := s.Definition(r.Context())
	if err != nil {
		responses.WriteProblem(w, r, responses.NewProblem(http.StatusServiceUnavailable, "registry unavailable: "+err.Error(), nil), nil)
		return
	}
	httpx.JSON(w, http.StatusOK, doc)
}
