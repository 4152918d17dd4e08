package openapi_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"
	"golang.org/x/net/html"

	"github.com/replicaflow/replicaflow/openapi"
)

func init() { gin.SetMode(gin.TestMode) }

// app mounts the document and the docs page on a gin engine, as the flow
// does.
func app() http.Handler {
	spec := openapi.NewSpec(openapi.Info{Title: "docs test"}, allOps)
	docs := gin.WrapH(openapi.Docs(openapi.DocsConfig{}))
	e := gin.New()
	e.GET("/openapi.json", gin.WrapH(spec.Handler()))
	e.GET("/docs", docs)
	e.HEAD("/docs/*any", docs)
	e.GET("/docs/*any", docs)
	return e
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func get(t *testing.T, method, u string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, u, nil)
	res, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, body
}

// references lists the src of scripts and the href of links in a page.
func references(t *testing.T, page []byte) []string {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(string(page)))
	if err != nil {
		t.Fatal(err)
	}
	var refs []string
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && (n.Data == "script" || n.Data == "link") {
			for _, a := range n.Attr {
				if a.Key == "src" || a.Key == "href" {
					refs = append(refs, a.Val)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return refs
}

var specURLInJS = regexp.MustCompile(`url: "([^"]+)"`)

func TestDocsOffline(t *testing.T) {
	mounts := map[string]http.Handler{
		"":              app(),
		"/api":          http.StripPrefix("/api", app()),
		"/team/v1/tool": http.StripPrefix("/team/v1/tool", app()),
	}
	for prefix, h := range mounts {
		t.Run("prefix="+prefix, func(t *testing.T) {
			srv := httptest.NewServer(h)
			defer srv.Close()
			base := srv.URL + prefix

			for _, start := range []string{"/docs", "/docs/"} {
				res, _ := get(t, "GET", base+start)
				if res.StatusCode != http.StatusFound {
					t.Fatalf("GET %s: %d, want 302", start, res.StatusCode)
				}
				loc, err := res.Location()
				if err != nil {
					t.Fatal(err)
				}
				if want := base + "/docs/index.html"; loc.String() != want {
					t.Errorf("GET %s redirects to %s, want %s", start, loc, want)
				}
			}

			index, err := url.Parse(base + "/docs/index.html")
			if err != nil {
				t.Fatal(err)
			}
			res, page := get(t, "GET", index.String())
			if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
				t.Fatalf("index: %d %q", res.StatusCode, res.Header.Get("Content-Type"))
			}
			refs := references(t, page)
			if len(refs) < 6 {
				t.Fatalf("the page references only %v", refs)
			}
			var initializer []byte
			for _, ref := range refs {
				u, err := index.Parse(ref)
				if err != nil {
					t.Fatal(err)
				}
				if u.Host != index.Host {
					t.Errorf("the page loads %s from another host", u)
					continue
				}
				res, body := get(t, "GET", u.String())
				if res.StatusCode != 200 || len(body) == 0 {
					t.Errorf("GET %s: %d, %d bytes", u.Path, res.StatusCode, len(body))
				}
				if strings.HasSuffix(u.Path, "swagger-initializer.js") {
					initializer = body
				}
			}

			m := specURLInJS.FindSubmatch(initializer)
			if m == nil {
				t.Fatalf("no spec URL in swagger-initializer.js:\n%s", initializer)
			}
			specURL, _ := index.Parse(string(m[1]))
			if want := base + "/openapi.json"; specURL.String() != want {
				t.Errorf("the page loads the document from %s, want %s", specURL, want)
			}
			res, body := get(t, "GET", specURL.String())
			if res.StatusCode != 200 {
				t.Fatalf("spec: %d", res.StatusCode)
			}
			if _, err := openapi3.NewLoader().LoadFromData(body); err != nil {
				t.Fatal(err)
			}

			for path, want := range map[string]int{
				"/docs/nope.js":              404,
				"/docs/sub/index.html":       404,
				"/docs/swagger-ui-bundle.js": 200,
				"/docs/oauth2-redirect.html": 200,
			} {
				if res, _ := get(t, "GET", base+path); res.StatusCode != want {
					t.Errorf("GET %s: %d, want %d", path, res.StatusCode, want)
				}
			}
			if res, body := get(t, "HEAD", base+"/docs/index.html"); res.StatusCode != 200 || len(body) != 0 {
				t.Errorf("HEAD index: %d, %d bytes", res.StatusCode, len(body))
			}
		})
	}
}

func TestDocsConfig(t *testing.T) {
	srv := httptest.NewServer(openapi.Docs(openapi.DocsConfig{Path: "/api/reference", SpecPath: "/api/spec.json", Title: "Shop <API>", DocExpansion: "none"}))
	defer srv.Close()
	_, js := get(t, "GET", srv.URL+"/api/reference/swagger-initializer.js")
	if !strings.Contains(string(js), `url: "../spec.json"`) || !strings.Contains(string(js), `docExpansion: "none"`) {
		t.Errorf("initializer:\n%s", js)
	}
	if res, _ := get(t, "POST", srv.URL+"/api/reference/index.html"); res.StatusCode != 405 || res.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST index: %d, Allow %q", res.StatusCode, res.Header.Get("Allow"))
	}
	_, page := get(t, "GET", srv.URL+"/api/reference/index.html")
	if !strings.Contains(string(page), "<title>Shop &lt;API&gt;</title>") {
		t.Errorf("title not escaped in the page")
	}

	for name, cfg := range map[string]openapi.DocsConfig{
		"root path":     {Path: "/"},
		"quote in URL":  {SpecURL: `x";alert(1);"`},
		"bad expansion": {DocExpansion: "all"},
	} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.HasPrefix(r.(string), "replicaflow: ") {
					t.Errorf("%s: panic %v", name, r)
				}
			}()
			openapi.Docs(cfg)
		}()
	}
}

// TestDocsHeaders checks what the page's answers tell the browser: no
// sniffing of any file, and for the page a policy that loads scripts and
// styles from its own origin only and refuses to be framed.
func TestDocsHeaders(t *testing.T) {
	srv := httptest.NewServer(app())
	defer srv.Close()
	for _, name := range []string{"index.html", "swagger-initializer.js", "swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"} {
		res, _ := get(t, "GET", srv.URL+"/docs/"+name)
		if res.StatusCode != 200 || res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: %d, X-Content-Type-Options %q", name, res.StatusCode, res.Header.Get("X-Content-Type-Options"))
		}
	}
	res, _ := get(t, "GET", srv.URL+"/docs/index.html")
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self';", "object-src 'none'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
}
