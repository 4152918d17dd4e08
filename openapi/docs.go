package openapi

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	swaggerFiles "github.com/swaggo/files"
	ginSwagger "github.com/swaggo/gin-swagger"
	"golang.org/x/net/webdav"
)

// DocsConfig configures the Swagger UI page served by Docs.
type DocsConfig struct {
	// Path is where the page is mounted, from the application's root;
	// default "/docs". The page is at Path + "/index.html".
	Path string
	// SpecPath is where the document is served, from the application's
	// root; default "/openapi.json".
	SpecPath string
	// SpecURL, when set, is the URL the page loads the document from, as
	// is. By default it is SpecPath relative to the page ("../openapi.json"),
	// which keeps working when the application is mounted under a prefix.
	SpecURL string
	// Title is the page's title; default "API docs".
	Title string
	// DocExpansion is how much Swagger UI expands at first: "list" (the
	// default: tags open, operations closed), "full" or "none".
	DocExpansion string
}

// swaggerAssets are the files gin-swagger serves for the page, from
// swaggo/files (embedded in the binary: no CDN).
var swaggerAssets = map[string]bool{
	"index.html": true, "index.css": true, "swagger-initializer.js": true,
	"favicon-16x16.png": true, "favicon-32x32.png": true, "oauth2-redirect.html": true,
	"swagger-ui.css": true, "swagger-ui.css.map": true,
	"swagger-ui.js": true, "swagger-ui.js.map": true,
	"swagger-ui-bundle.js": true, "swagger-ui-bundle.js.map": true,
	"swagger-ui-standalone-preset.js": true, "swagger-ui-standalone-preset.js.map": true,
}

// Docs returns the Swagger UI page, through gin-swagger with the assets
// embedded by swaggo/files. Mount it on cfg.Path and everything below it
// (with gin: both "/docs" and "/docs/*any"). It answers:
//
//	/docs, /docs/        302 to docs/index.html (a relative Location)
//	/docs/index.html     the page, which loads the document from SpecURL
//	/docs/<asset>        Swagger UI's scripts, styles and icons
//
// Every URL the page uses is relative, so the page keeps working when the
// application is mounted under a prefix (http.StripPrefix, a reverse proxy
// that strips one): it matches on the end of the request path only.
func Docs(cfg DocsConfig) http.Handler {
	if cfg.Path == "" {
		cfg.Path = "/docs"
	}
	if cfg.SpecPath == "" {
		cfg.SpecPath = "/openapi.json"
	}
	cfg.Path = "/" + strings.Trim(cfg.Path, "/")
	if cfg.Path == "/" {
		panic("replicaflow: the docs page needs a path of its own, not /")
	}
	if cfg.SpecURL == "" {
		cfg.SpecURL = relativeURL(cfg.Path+"/", cfg.SpecPath)
	}
	if strings.ContainsAny(cfg.SpecURL, "\"'\\<>\n\r`") {
		panic("replicaflow: the docs page's spec URL has a character it cannot carry: " + cfg.SpecURL)
	}
	if cfg.Title == "" {
		cfg.Title = "API docs"
	}
	switch cfg.DocExpansion {
	case "":
		cfg.DocExpansion = "list"
	case "list", "full", "none":
	default:
		panic("replicaflow: DocExpansion is list, full or none, not " + cfg.DocExpansion)
	}

	// A webdav handler of our own: gin-swagger sets its Prefix on first use,
	// which must not clash with another page in the same process.
	files := &webdav.Handler{FileSystem: swaggerFiles.FS, LockSystem: webdav.NewMemLS()}
	ui := ginSwagger.CustomWrapHandler(&ginSwagger.Config{
		URL:                      cfg.SpecURL,
		DocExpansion:             cfg.DocExpansion,
		Title:                    cfg.Title,
		DeepLinking:              true,
		DefaultModelsExpandDepth: 1,
	}, files)
	engine := gin.New()
	engine.GET("/:file", ui)
	return &docs{root: cfg.Path, engine: engine}
}

type docs struct {
	root   string // "/docs"
	engine *gin.Engine
}

func (d *docs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case strings.HasSuffix(p, d.root):
		redirect(w, d.root[strings.LastIndexByte(d.root, '/')+1:]+"/index.html")
		return
	case strings.HasSuffix(p, d.root+"/"):
		redirect(w, "index.html")
		return
	}
	i := strings.LastIndex(p, d.root+"/")
	name := ""
	if i >= 0 {
		name = p[i+len(d.root)+1:]
	}
	if !swaggerAssets[name] {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	// gin-swagger matches the file on RequestURI and strips what precedes
	// it from URL.Path: give it a request for "/<file>" so that the two
	// agree whatever prefix the application is mounted under.
	r2 := new(http.Request)
	*r2 = *r
	u := *r.URL
	u.Path, u.RawPath, u.RawQuery = "/"+name, "", ""
	r2.URL = &u
	r2.RequestURI = u.Path
	if r.Method == http.MethodHead {
		r2.Method = http.MethodGet
		w = headWriter{w}
	}
	d.engine.ServeHTTP(w, r2)
}

// redirect answers 302 with a relative Location, resolved by the client
// against the URL it asked for: right under any prefix. (http.Redirect
// would make it absolute from the path this process sees.)
func redirect(w http.ResponseWriter, location string) {
	w.Header().Set("Location", location)
	w.WriteHeader(http.StatusFound)
}

// headWriter drops the body of a GET answer, to answer a HEAD.
type headWriter struct{ http.ResponseWriter }

func (h headWriter) Write(p []byte) (int, error) { return len(p), nil }

// relativeURL returns the URL of the absolute path to, relative to the
// directory fromDir (which ends with a slash).
func relativeURL(fromDir, to string) string {
	from := strings.Split(strings.Trim(fromDir, "/"), "/")
	target := strings.Split(strings.TrimPrefix(to, "/"), "/")
	if from[0] == "" {
		from = nil
	}
	common := 0
	for common < len(from) && common < len(target)-1 && from[common] == target[common] {
		common++
	}
	return strings.Repeat("../", len(from)-common) + strings.Join(target[common:], "/")
}
