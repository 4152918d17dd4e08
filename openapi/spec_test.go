package openapi_test

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/replicaflow/replicaflow/openapi"
	"github.com/replicaflow/replicaflow/openapi/internal/legacy"
)

func TestSpecCachesUntilInvalidate(t *testing.T) {
	var calls atomic.Int32
	var mu sync.Mutex
	ops := []openapi.Operation{{Service: "a", Method: "GET", Path: "/a", Response: reflect.TypeFor[User]()}}
	spec := openapi.NewSpec(openapi.Info{}, func() []openapi.Operation {
		calls.Add(1)
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(ops)
	})

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := spec.JSON(); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Fatalf("source called %d times for 8 concurrent readers, want 1", n)
	}
	first, _ := load(t, spec)
	if calls.Load() != 1 || first.Paths.Len() != 1 {
		t.Fatalf("cached document not served: calls %d, paths %d", calls.Load(), first.Paths.Len())
	}

	mu.Lock()
	ops = append(ops, openapi.Operation{Service: "b", Method: "GET", Path: "/b"})
	mu.Unlock()
	spec.Invalidate()
	second, _ := load(t, spec)
	if calls.Load() != 2 || second.Paths.Len() != 2 {
		t.Fatalf("after Invalidate: calls %d, paths %d", calls.Load(), second.Paths.Len())
	}
}

func TestSpecHandler(t *testing.T) {
	spec := openapi.NewSpec(openapi.Info{}, allOps)
	h := spec.Handler()

	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/openapi.json", nil))
	etag := w.Header().Get("ETag")
	if w.Code != 200 || etag == "" {
		t.Fatalf("GET: %d, ETag %q", w.Code, etag)
	}

	r := httptest.NewRequest("GET", "/openapi.json", nil)
	r.Header.Set("If-None-Match", etag)
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusNotModified {
		t.Errorf("revalidation: %d, want 304", w.Code)
	}

	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("POST", "/openapi.json", nil))
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, HEAD" || w.Header().Get("Content-Type") != "application/problem+json" {
		t.Errorf("POST: %d, Allow %q, %q", w.Code, w.Header().Get("Allow"), w.Header().Get("Content-Type"))
	}
}

func TestSpecBuildError(t *testing.T) {
	bad := openapi.NewSpec(openapi.Info{}, func() []openapi.Operation {
		return []openapi.Operation{{Method: "GET", Path: "/x", Response: reflect.TypeFor[chan int]()}}
	})
	w := httptest.NewRecorder()
	bad.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/openapi.json", nil))
	if w.Code != 500 || w.Header().Get("Content-Type") != "application/problem+json" {
		t.Errorf("broken document: %d %q", w.Code, w.Header().Get("Content-Type"))
	}
}

type Pair[K comparable, V any] struct {
	Key   K `json:"key"`
	Value V `json:"value"`
}

func TestComponentNames(t *testing.T) {
	ops := []openapi.Operation{
		{Method: "GET", Path: "/1", Response: reflect.TypeFor[Page[legacy.User]]()},
		{Method: "GET", Path: "/2", Response: reflect.TypeFor[Page[User]]()},
		{Method: "GET", Path: "/3", Response: reflect.TypeFor[Pair[string, []*Item]]()},
		{Method: "GET", Path: "/4", Response: reflect.TypeFor[Page[map[string]Page[Item]]]()},
		{Method: "GET", Path: "/5", Response: reflect.TypeFor[Problem]()},
	}
	doc, err := build(openapi.Info{}, ops)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for n := range doc.Components.Schemas {
		names = append(names, n)
	}
	slices.Sort(names)
	want := []string{
		"Address", "FieldError", "Item",
		"PageItem", "PageMapStringPageItem", "PairStringListItem",
		"Problem", // the framework's; the test's own Problem is qualified
		"legacy.User",
		// Page[legacy.User] and Page[User] are both PageUser in one package:
		// their arguments' packages tell them apart.
		"openapi_test.PageLegacyUser", "openapi_test.PageOpenapi_testUser",
		"openapi_test.Problem", "openapi_test.User",
	}
	if !slices.Equal(names, want) {
		t.Errorf("components\n%v\nwant\n%v", names, want)
	}
	if _, err := openapi.NewSpec(openapi.Info{}, func() []openapi.Operation { return ops }).JSON(); err != nil {
		t.Fatal(err)
	}
	loaded, _ := load(t, openapi.NewSpec(openapi.Info{}, func() []openapi.Operation { return ops }))
	ref := loaded.Paths.Find("/5").Get.Responses.Value("200").Value.Content.Get("application/json").Schema.Ref
	if ref != "#/components/schemas/openapi_test.Problem" {
		t.Errorf("the test's Problem is %q", ref)
	}
}

// Problem has the name of the framework's own problem details.
type Problem struct {
	Code int `json:"code"`
}
